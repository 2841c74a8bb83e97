// The training-curve figure: loss per optimizer step, and the learning rate beside it, rendered to SVG with
// vega-lite + vega (no browser), from the curve the engine writes as training_curve.json.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CURVE_FILE } from "@shortened/engine";
import * as vega from "vega";
import * as vl from "vega-lite";

export const CURVE_PLOT = "training_curve.svg";

interface CurveStep {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

export async function trainingCurveSvg(steps: CurveStep[], title: string): Promise<string> {
  const panel = (field: "loss" | "lr" | "gradNorm", label: string) => ({
    width: 240,
    height: 180,
    mark: { type: "line", point: steps.length <= 50 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "optimizer step" },
      y: { field, type: "quantitative", title: label, scale: { zero: false } },
    },
  });
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    data: { values: steps },
    hconcat: [
      panel("loss", "loss (mean NLL)"),
      panel("lr", "learning rate"),
      panel("gradNorm", "grad norm (pre-clip)"),
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(spec as vl.TopLevelSpec).spec), { renderer: "none" });
  return view.toSVG();
}

/** Writes training_curve.svg next to a run's training_curve.json; returns its path. */
export async function plotCurveFile(dir: string, title: string): Promise<string> {
  const { steps } = JSON.parse(readFileSync(join(dir, CURVE_FILE), "utf8")) as { steps: CurveStep[] };
  const path = join(dir, CURVE_PLOT);
  writeFileSync(path, await trainingCurveSvg(steps, title));
  return path;
}
