// The training curve of a retrain job as an SVG (vega-lite rendered with vega, no browser): loss and
// learning rate per optimizer step, one line per phase (cpt, lora).
import * as vega from "vega";
import * as vl from "vega-lite";

export interface CurvePoint {
  phase: string;
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
}

export async function trainingCurveSvg(points: CurvePoint[], title: string): Promise<string> {
  const panel = (field: "loss" | "lr", label: string) => ({
    width: 260,
    height: 180,
    mark: { type: "line", point: points.length <= 60 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "optimizer step" },
      y: { field, type: "quantitative", title: label, scale: { zero: false } },
      color: { field: "phase", type: "nominal", title: "phase" },
    },
  });
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    data: { values: points.filter((p) => Number.isFinite(p.loss)) },
    hconcat: [panel("loss", "training loss (mean NLL)"), panel("lr", "learning rate")],
  };
  const view = new vega.View(vega.parse(vl.compile(spec as unknown as vl.TopLevelSpec).spec), {
    renderer: "none",
  });
  return view.toSVG();
}
