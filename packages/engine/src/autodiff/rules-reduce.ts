// VJP rules of reductions and of the softmax family.
import type { Node } from "../graph/builder.js";
import type { VjpContext, VjpRule } from "./context.js";

/** The reduced axes (normalized), or undefined when every axis is reduced. Axes come from input 1 (opset 18)
 *  or from the attribute (older opsets) and must be constants. */
function reducedAxes(c: VjpContext, n: Node, rank: number): number[] | undefined {
  let axes: number[] | undefined;
  if (n.inputs[1]) {
    axes = c.constInts(n.inputs[1]);
    if (!axes) throw new Error(`autodiff: ${n.opType} with non-constant axes is not supported`);
  } else axes = n.attrs.axes as number[] | undefined;
  if (!axes || axes.length === 0) {
    if (n.attrs.noop_with_empty_axes === 1) return [];
    return undefined;
  }
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

/** Broadcasts a reduction's output gradient back over the input's shape. */
function expandBack(c: VjpContext, n: Node, gy: string): string {
  const x = n.inputs[0]!;
  const rank = c.rank(x, n.opType);
  const axes = reducedAxes(c, n, rank);
  const keep = (n.attrs.keepdims as number | undefined) ?? 1;
  let g = gy;
  if (!keep && axes && axes.length) g = c.node("Unsqueeze", [gy, c.ints(axes)]);
  if (!keep && !axes && rank > 0) g = c.node("Reshape", [gy, c.ints(Array(rank).fill(1))]);
  return c.node("Expand", [g, c.node("Shape", [x])]);
}

const reduceSum: VjpRule = (c, n, [gy]) => [expandBack(c, n, gy!)];

const reduceMean: VjpRule = (c, n, [gy]) => {
  const x = n.inputs[0]!;
  const sx = c.shape(x);
  const rank = c.rank(x, n.opType);
  const axes = reducedAxes(c, n, rank) ?? sx!.map((_, i) => i);
  const dims = axes.map((a) => sx![a]!);
  let count: string;
  if (dims.every((d) => typeof d === "number"))
    count = c.scalar((dims as number[]).reduce((p, d) => p * d, 1));
  else {
    const sizes = c.node("Size", [x]);
    const outSize = c.node("Size", [n.outputs[0]!]);
    count = c.node("CastLike", [c.node("Div", [sizes, outSize]), c.scalar(1)]);
  }
  return [expandBack(c, n, c.node("Div", [gy!, count]))];
};

const reduceSumSquare: VjpRule = (c, n, [gy]) => {
  const x = n.inputs[0]!;
  return [c.node("Mul", [expandBack(c, n, gy!), c.node("Mul", [x, c.scalar(2)])])];
};

const softmax: VjpRule = (c, n, [gy]) => {
  const y = n.outputs[0]!;
  const axis = (n.attrs.axis as number | undefined) ?? -1;
  const gyY = c.node("Mul", [gy!, y]);
  const s = c.node("ReduceSum", [gyY, c.ints([axis])], { keepdims: 1 });
  return [c.node("Sub", [gyY, c.node("Mul", [y, s])])];
};

const logSoftmax: VjpRule = (c, n, [gy]) => {
  const y = n.outputs[0]!;
  const axis = (n.attrs.axis as number | undefined) ?? -1;
  const picked = onePickAlong(c, gy!, axis, c.rank(y, "LogSoftmax"));
  if (picked) {
    // gy is zeros with one value per row scattered in (a GatherElements pick: the NLL of the target token), so
    // Σgy = that value u and gy − softmax·u is u scattered-added onto −softmax·u: the same bits (u − p is
    // u + (−p)) without the zero tensor, its scatter and a sum over the whole axis (the vocabulary: 32 MB for
    // 4×128 tokens of a 16k vocabulary, five passes less).
    const { indices, updates } = picked;
    const base = c.node("Mul", [c.node("Exp", [y]), c.node("Neg", [updates])]);
    return [c.node("ScatterElements", [base, indices, updates], { axis, reduction: "add" })];
  }
  const s = c.node("ReduceSum", [gy!, c.ints([axis])], { keepdims: 1 });
  return [c.node("Sub", [gy!, c.node("Mul", [c.node("Exp", [y]), s])])];
};

/** When `g` is ScatterElements-add of updates onto zeros (the gradient of a GatherElements) along `axis` with
 *  one index per row (its static size 1 on that axis), its indices and updates. */
function onePickAlong(
  c: VjpContext,
  g: string,
  axis: number,
  rank: number,
): { indices: string; updates: string } | undefined {
  const scatter = c.g.nodes.find((m) => m.outputs.includes(g));
  if (scatter?.opType !== "ScatterElements" || scatter.attrs.reduction !== "add") return undefined;
  const [data, indices, updates] = scatter.inputs as [string, string, string];
  const a = (scatter.attrs.axis as number | undefined) ?? 0;
  if ((a + rank) % rank !== (axis + rank) % rank) return undefined;
  if (c.shape(indices)?.[(axis + rank) % rank] !== 1) return undefined;
  const zeros = c.g.nodes.find((m) => m.outputs.includes(data));
  return zeros && c.isZeros(zeros) ? { indices, updates } : undefined;
}

/** ReduceLogSumExp: d/dx = softmax over the reduced axes. */
const reduceLogSumExp: VjpRule = (c, n, [gy]) => {
  const x = n.inputs[0]!;
  const yb = expandBack(c, { ...n, inputs: [x, ...n.inputs.slice(1)] }, n.outputs[0]!);
  const p = c.node("Exp", [c.node("Sub", [x, yb])]);
  return [c.node("Mul", [expandBack(c, n, gy!), p])];
};

/** ReduceMax/Min: the gradient goes to the elements equal to the extreme (ties share it fully, as ORT training). */
const reduceExtreme: VjpRule = (c, n, [gy]) => {
  const x = n.inputs[0]!;
  const yb = expandBack(c, n, n.outputs[0]!);
  const mask = c.node("CastLike", [c.node("Equal", [x, yb]), c.scalar(1)]);
  return [c.node("Mul", [expandBack(c, n, gy!), mask])];
};

export const reduceRules: Record<string, VjpRule> = {
  ReduceSum: reduceSum,
  ReduceMean: reduceMean,
  ReduceSumSquare: reduceSumSquare,
  ReduceLogSumExp: reduceLogSumExp,
  ReduceMax: reduceExtreme,
  ReduceMin: reduceExtreme,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
};
