// The training curve of a retrain run as an SVG (vega-lite rendered with vega, no browser): loss, learning
// rate and pre-clip grad norm per optimizer step, one line per phase (cpt, lora) when the points carry one.
// Used by the retrain job and by `shortened retrain` (plotCurveFile, next to the engine's training_curve.json).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CURVE_FILE } from "@shortened/engine";
import * as vega from "vega";
import * as vl from "vega-lite";

export const CURVE_PLOT = "training_curve.svg";

export interface CurvePoint {
  phase?: string;
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens?: number;
  /** distillation: the KD term (τ²·mean KL) and the cross-entropy of the step */
  kdLoss?: number;
  ceLoss?: number;
}

export async function trainingCurveSvg(points: CurvePoint[], title: string): Promise<string> {
  const byPhase = points.some((p) => p.phase !== undefined);
  const panel = (field: "loss" | "lr" | "gradNorm", label: string) => ({
    width: 240,
    height: 180,
    mark: { type: "line", point: points.length <= 60 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "optimizer step" },
      y: { field, type: "quantitative", title: label, scale: { zero: false } },
      ...(byPhase ? { color: { field: "phase", type: "nominal", title: "phase" } } : {}),
    },
  });
  const kd = points.some((p) => p.kdLoss !== undefined);
  // Distillation: KD and cross-entropy in one panel, a line each (per phase when there are several).
  const parts = {
    width: 240,
    height: 180,
    transform: [
      { fold: ["kdLoss", "ceLoss"], as: ["part", "value"] },
      { calculate: `datum.part === 'kdLoss' ? 'KD (τ²·KL)' : 'cross-entropy'`, as: "part" },
      ...(byPhase ? [{ calculate: "datum.phase + ' ' + datum.part", as: "part" }] : []),
    ],
    mark: { type: "line", point: points.length <= 60 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "optimizer step" },
      y: { field: "value", type: "quantitative", title: "KD and cross-entropy", scale: { zero: false } },
      color: { field: "part", type: "nominal", title: "term" },
    },
  };
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    data: { values: points.filter((p) => Number.isFinite(p.loss)) },
    hconcat: [
      panel("loss", kd ? "training loss (α·KD + (1 − α)·CE)" : "training loss (mean NLL)"),
      ...(kd ? [parts] : []),
      panel("lr", "learning rate"),
      panel("gradNorm", "grad norm (pre-clip)"),
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(spec as unknown as vl.TopLevelSpec).spec), {
    renderer: "none",
  });
  return view.toSVG();
}

/** Writes training_curve.svg next to a run's training_curve.json; returns its path. */
export async function plotCurveFile(dir: string, title: string): Promise<string> {
  const { steps } = JSON.parse(readFileSync(join(dir, CURVE_FILE), "utf8")) as { steps: CurvePoint[] };
  const path = join(dir, CURVE_PLOT);
  writeFileSync(path, await trainingCurveSvg(steps, title));
  return path;
}
