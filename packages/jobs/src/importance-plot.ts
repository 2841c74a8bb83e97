// The importance curve as an SVG (vega-lite rendered with vega, no browser): one bar per block, the
// removed blocks (if any) highlighted.
import * as vega from "vega";
import * as vl from "vega-lite";

export async function importancePlotSvg(opts: {
  scores: number[];
  criterion: string;
  removed?: number[];
  title?: string;
}): Promise<string> {
  const removed = new Set(opts.removed ?? []);
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: opts.title ?? `Block importance (${opts.criterion})`,
    width: Math.max(240, opts.scores.length * 18),
    height: 180,
    data: {
      values: opts.scores.map((score, block) => ({
        block,
        score,
        removed: removed.has(block) ? "removed" : "kept",
      })),
    },
    mark: "bar",
    encoding: {
      x: { field: "block", type: "ordinal", title: "block" },
      y: { field: "score", type: "quantitative", title: `${opts.criterion} score (higher = more important)` },
      color: {
        field: "removed",
        type: "nominal",
        scale: { domain: ["kept", "removed"], range: ["#4c78a8", "#e45756"] },
        title: null,
      },
    },
  };
  return vegaLiteSvg(spec);
}

/** Renders a vega-lite spec to SVG text (no browser). */
export async function vegaLiteSvg(spec: Record<string, unknown>): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec as unknown as vl.TopLevelSpec).spec), {
    renderer: "none",
  });
  return view.toSVG();
}
