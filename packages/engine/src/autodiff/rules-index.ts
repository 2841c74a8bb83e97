// VJP rules of gathers, selects and the fused cross-entropy: gradients are scattered back with
// reduction "add" so repeated indices (the same token twice in a batch) accumulate.
import type { VjpRule } from "./context.js";

/** Gather along axis 0 (the embedding lookup): ∂E = ScatterND-add of the rows' gradients. */
const gather: VjpRule = (c, n, [gy], needs) => {
  const [data, indices] = n.inputs as [string, string];
  const axis = (n.attrs.axis as number | undefined) ?? 0;
  if (!needs[0]) return [];
  if (axis !== 0) {
    const rank = c.rank(data, "Gather");
    if ((axis + rank) % rank !== 0)
      throw new Error("autodiff: Gather on an axis other than 0 is not supported");
  }
  const idx = c.node("Unsqueeze", [indices, c.ints([-1])]);
  return [c.node("ScatterND", [c.zerosLike(data), idx, gy!], { reduction: "add" })];
};

const gatherElements: VjpRule = (c, n, [gy], needs) => {
  const [data, indices] = n.inputs as [string, string];
  if (!needs[0]) return [];
  const axis = (n.attrs.axis as number | undefined) ?? 0;
  return [c.node("ScatterElements", [c.zerosLike(data), indices, gy!], { axis, reduction: "add" })];
};

const where: VjpRule = (c, n, [gy], needs) => {
  const [cond, a, b] = n.inputs as [string, string, string];
  const y = n.outputs[0]!;
  const zero = c.scalar(0);
  return [
    undefined,
    needs[1] ? c.sumTo(c.node("Where", [cond, gy!, zero]), y, a) : undefined,
    needs[2] ? c.sumTo(c.node("Where", [cond, zero, gy!]), y, b) : undefined,
  ];
};

/** Binary Max/Min: the gradient goes to the input that was selected (to the first one on ties). */
const extreme =
  (op: "Greater" | "Less"): VjpRule =>
  (c, n, [gy], needs) => {
    if (n.inputs.length !== 2)
      throw new Error(`autodiff: ${n.opType} of ${n.inputs.length} inputs is not supported`);
    const [a, b] = n.inputs as [string, string];
    const y = n.outputs[0]!;
    const takeB = c.node(op, [b, a]);
    const zero = c.scalar(0);
    return [
      needs[0] ? c.sumTo(c.node("Where", [takeB, zero, gy!]), y, a) : undefined,
      needs[1] ? c.sumTo(c.node("Where", [takeB, gy!, zero]), y, b) : undefined,
    ];
  };

/** SoftmaxCrossEntropyLoss(scores [N, C, ...], labels): ∂scores = (softmax − onehot)·(per-item weight). Only
 *  reduction "none" and "sum"/"mean" without class weights are supported; ignore_index items get zero. */
const softmaxCrossEntropy: VjpRule = (c, n, gys, needs) => {
  const [scores, labels, weights] = n.inputs as [string, string, string | undefined];
  if (weights) throw new Error("autodiff: SoftmaxCrossEntropyLoss with class weights is not supported");
  if (!needs[0]) return [];
  const reduction = (n.attrs.reduction as string | undefined) ?? "mean";
  const ignore = n.attrs.ignore_index as number | undefined;
  const [gLoss, gLogProb] = gys;
  const logp = c.node("LogSoftmax", [scores], { axis: 1 });
  let g: string | undefined;
  if (gLoss) {
    const valid =
      ignore === undefined
        ? undefined
        : c.node("Not", [c.node("Equal", [labels, c.g.constant("int64", [], [BigInt(ignore)])])]);
    const safe = valid ? c.node("Where", [valid, labels, c.g.constant("int64", [], [0n])]) : labels;
    // One-hot as Equal against a class range (ORT has no float64 OneHot kernel).
    const rank = c.rank(scores, "SoftmaxCrossEntropyLoss");
    const classes = c.node("Range", [
      c.g.constant("int64", [], [0n]),
      c.node("Squeeze", [c.node("Shape", [scores], { start: 1, end: 2 })]),
      c.g.constant("int64", [], [1n]),
    ]);
    const classShape = Array<number>(rank).fill(1);
    classShape[1] = -1;
    const onehot = c.node("CastLike", [
      c.node("Equal", [
        c.node("Unsqueeze", [safe, c.ints([1])]),
        c.node("Reshape", [classes, c.ints(classShape)]),
      ]),
      c.scalar(1),
    ]);
    let w: string = gLoss;
    if (reduction === "mean") {
      const count = valid
        ? c.node("ReduceSum", [c.node("CastLike", [valid, c.scalar(1)])], { keepdims: 0 })
        : c.node("CastLike", [c.node("Size", [labels]), c.scalar(1)]);
      w = c.node("Div", [gLoss, count]);
    }
    if (reduction !== "none") w = c.node("Expand", [w, c.node("Shape", [labels])]);
    if (valid) w = c.node("Mul", [w, c.node("CastLike", [valid, c.scalar(1)])]);
    const diff = c.node("Sub", [c.node("Exp", [logp]), onehot]);
    g = c.node("Mul", [diff, c.node("Unsqueeze", [w, c.ints([1])])]);
  }
  if (gLogProb) {
    const s = c.node("ReduceSum", [gLogProb, c.ints([1])], { keepdims: 1 });
    const gl = c.node("Sub", [gLogProb, c.node("Mul", [c.node("Exp", [logp]), s])]);
    g = g ? c.node("Add", [g, gl]) : gl;
  }
  return [g];
};

export const indexRules: Record<string, VjpRule> = {
  Gather: gather,
  GatherElements: gatherElements,
  Where: where,
  Max: extreme("Greater"),
  Min: extreme("Less"),
  SoftmaxCrossEntropyLoss: softmaxCrossEntropy,
};
