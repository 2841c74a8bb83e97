// The dashboard's charts as vega-lite specs (the same grammar as the server-side SVG plots). Pure
// functions of the data, so they can be tested without a browser.
type Spec = Record<string, unknown>;

const base = { $schema: "https://vega.github.io/schema/vega-lite/v5.json", config: { font: "system-ui" } };

export interface TrainPoint {
  step: number;
  phase: string;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerS: number;
  /** distillation: the KD term (τ²·mean KL) and the cross-entropy of the step */
  kdLoss?: number;
  ceLoss?: number;
}

/** Loss, learning rate, gradient norm and tokens/s per optimizer step, one small chart each. */
export function trainingCurveSpec(points: TrainPoint[]): Spec {
  const panel = (field: keyof TrainPoint, title: string, scale: Record<string, unknown> = {}) => ({
    width: 220,
    height: 120,
    title,
    mark: { type: "line", point: points.length < 40, tooltip: true },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step" },
      y: { field, type: "quantitative", title: null, scale: { zero: false, ...scale } },
      color: {
        field: "phase",
        type: "nominal",
        title: "phase",
        legend: points.some((p) => p.phase !== points[0]?.phase) ? {} : null,
      },
    },
  });
  return {
    ...base,
    description: `training curve over ${points.length} steps`,
    data: { values: points },
    concat: [
      panel("loss", "loss"),
      ...(points.some((p) => p.kdLoss !== undefined) ? [distillPanel(points)] : []),
      panel("lr", "learning rate"),
      panel("gradNorm", "gradient norm"),
      panel("tokensPerS", "tokens/s"),
    ],
    columns: 2,
  };
}

/** Distillation: the KD term and the cross-entropy, one line each (per phase when there are several). */
function distillPanel(points: TrainPoint[]): Spec {
  const phases = new Set(points.map((p) => p.phase)).size > 1;
  return {
    width: 220,
    height: 120,
    title: "KD (τ²·KL) and cross-entropy",
    transform: [
      { fold: ["kdLoss", "ceLoss"], as: ["term", "value"] },
      { calculate: "datum.term === 'kdLoss' ? 'KD' : 'CE'", as: "term" },
      ...(phases ? [{ calculate: "datum.phase + ' ' + datum.term", as: "term" }] : []),
    ],
    mark: { type: "line", point: points.length < 40, tooltip: true },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step" },
      y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
      color: { field: "term", type: "nominal", title: "term" },
    },
  };
}

export type BlockStatus = "removed" | "protected by the + rule" | "kept";

export function blockStatuses(
  n: number,
  o: { keepFirst?: number; keepLast?: number; plus?: boolean; removed?: number[] },
): BlockStatus[] {
  const removed = new Set(o.removed ?? []);
  return Array.from({ length: n }, (_, i) => {
    if (removed.has(i)) return "removed";
    if (o.plus !== false && (i < (o.keepFirst ?? 0) || i >= n - (o.keepLast ?? 0)))
      return "protected by the + rule";
    return "kept";
  });
}

/** One bar per block: its importance score, coloured by whether it was removed or protected. */
export function importanceSpec(
  scores: number[],
  criterion: string,
  o: { keepFirst?: number; keepLast?: number; plus?: boolean; removed?: number[] },
): Spec {
  const status = blockStatuses(scores.length, o);
  return {
    ...base,
    description: `${criterion} importance of ${scores.length} blocks; removed: ${(o.removed ?? []).join(", ") || "none"}`,
    width: 380,
    height: 220,
    data: { values: scores.map((score, block) => ({ block, score, status: status[block] })) },
    mark: { type: "bar", tooltip: true, stroke: "#1f2937", strokeWidth: 0.5 },
    encoding: {
      x: { field: "block", type: "ordinal", title: "block" },
      y: { field: "score", type: "quantitative", title: `${criterion} score` },
      color: {
        field: "status",
        type: "nominal",
        title: null,
        scale: {
          domain: ["removed", "protected by the + rule", "kept"],
          range: ["#b91c1c", "#6b7280", "#2563eb"],
        },
      },
      strokeDash: {
        condition: { test: "datum.status === 'protected by the + rule'", value: [3, 2] },
        value: [],
      },
    },
  };
}

export interface QualitySpeedPoint {
  label: string;
  ppl: number;
  tokensPerS: number;
  front: boolean;
}

/** Perplexity against batch-1 tokens/s, each version a point, the Pareto front as a line. */
export function qualitySpeedSpec(points: QualitySpeedPoint[], pplName: string): Spec {
  return {
    ...base,
    description: `quality against speed for ${points.length} versions`,
    width: 520,
    height: 280,
    data: { values: points },
    layer: [
      {
        transform: [{ filter: "datum.front" }],
        mark: { type: "line", color: "#059669", strokeDash: [4, 3] },
        encoding: {
          x: { field: "tokensPerS", type: "quantitative", sort: "ascending" },
          y: { field: "ppl", type: "quantitative" },
        },
      },
      {
        mark: { type: "point", filled: true, size: 80, tooltip: true },
        encoding: {
          x: {
            field: "tokensPerS",
            type: "quantitative",
            title: "tokens/s (batch 1)",
            scale: { zero: false },
          },
          y: {
            field: "ppl",
            type: "quantitative",
            title: `${pplName} (lower is better)`,
            scale: { zero: false },
          },
          color: {
            field: "front",
            type: "nominal",
            title: "Pareto front",
            scale: { domain: [true, false], range: ["#059669", "#6b7280"] },
          },
        },
      },
      {
        mark: { type: "text", dy: -10, fontSize: 11 },
        encoding: {
          x: { field: "tokensPerS", type: "quantitative" },
          y: { field: "ppl", type: "quantitative" },
          text: { field: "label" },
        },
      },
    ],
  };
}

/** Several criteria's block scores on one chart, each scaled to [0, 1] so their shapes compare. */
export function importanceOverlaySpec(series: { criterion: string; scores: number[] }[]): Spec {
  const values = series.flatMap(({ criterion, scores }) => {
    const lo = Math.min(...scores);
    const hi = Math.max(...scores);
    return scores.map((score, block) => ({
      criterion,
      block,
      score,
      scaled: hi > lo ? (score - lo) / (hi - lo) : 0,
    }));
  });
  return {
    ...base,
    description: `importance of each block under ${series.map((s) => s.criterion).join(", ")}`,
    width: 520,
    height: 240,
    data: { values },
    mark: { type: "line", point: true, tooltip: true },
    encoding: {
      x: { field: "block", type: "ordinal", title: "block" },
      y: {
        field: "scaled",
        type: "quantitative",
        title: "score, scaled per criterion (0 = least important)",
      },
      color: { field: "criterion", type: "nominal" },
    },
  };
}

export interface StudyPoint {
  criterion: string;
  method: string;
  ratio: number;
  ppl: number;
}

/** A study's perplexity against pruning ratio: a line per criterion and method, the dense model dashed. */
export function studySpec(points: StudyPoint[], dataset: string, dense: number | null): Spec {
  const layers: Spec[] = [
    {
      data: { values: points },
      mark: { type: "line", point: true, tooltip: true },
      encoding: {
        x: { field: "ratio", type: "quantitative", title: "pruning ratio", axis: { format: "%" } },
        y: { field: "ppl", type: "quantitative", title: `PPL ${dataset}`, scale: { type: "log" } },
        color: { field: "criterion", type: "nominal" },
        strokeDash: { field: "method", type: "nominal" },
      },
    },
  ];
  if (dense !== null)
    layers.push({
      data: { values: [{ ppl: dense }] },
      mark: { type: "rule", strokeDash: [4, 4] },
      encoding: { y: { field: "ppl", type: "quantitative" } },
    });
  return {
    ...base,
    description: `perplexity against pruning ratio (${dataset})`,
    width: 360,
    height: 220,
    layer: layers,
  };
}
