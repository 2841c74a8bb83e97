// The benchmark figure: latency and output throughput per batch size, models side by side (bars at the
// median, rules from the fastest to the slowest run), rendered to SVG with vega-lite + vega (no browser).
import type { BenchmarkResult } from "@shortened/engine";
import * as vega from "vega";
import * as vl from "vega-lite";

function panel(field: "latency" | "throughput", title: string): Record<string, unknown> {
  const enc = {
    x: { field: "batch", type: "ordinal", title: "batch size" },
    xOffset: { field: "model" },
    color: { field: "model", type: "nominal", title: null, legend: { labelLimit: 400, orient: "bottom" } },
  };
  return {
    title,
    width: 260,
    height: 200,
    layer: [
      { mark: "bar", encoding: { ...enc, y: { field: `${field}_median`, type: "quantitative", title } } },
      {
        mark: { type: "rule", color: "black" },
        encoding: {
          ...enc,
          y: { field: `${field}_min`, type: "quantitative" },
          y2: { field: `${field}_max` },
        },
      },
    ],
  };
}

export async function benchmarkSvg(r: BenchmarkResult): Promise<string> {
  const values = r.rows.map((row) => ({
    model: /block/.test(row.label) ? row.label : `${row.label} (${row.numHiddenLayers} blocks)`,
    batch: row.batch,
    latency_median: row.latencyS.median,
    latency_min: row.latencyS.min,
    latency_max: row.latencyS.max,
    throughput_median: row.tokensPerSecond.median,
    throughput_min: row.tokensPerSecond.min,
    throughput_max: row.tokensPerSecond.max,
  }));
  const s = r.settings;
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: `Generation: ${s.inputLen} in / ${s.outputLen} out, median of ${s.runs} runs (${r.machine.device})`,
      subtitle: `${r.machine.cpu}, ${r.machine.cores} cores, ${r.date.slice(0, 10)}`,
    },
    data: { values },
    hconcat: [panel("latency", "latency (s)"), panel("throughput", "output tokens/s")],
  };
  const view = new vega.View(vega.parse(vl.compile(spec as unknown as vl.TopLevelSpec).spec), {
    renderer: "none",
  });
  return view.toSVG();
}
