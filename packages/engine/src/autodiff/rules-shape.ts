// VJP rules of the ops that move data without arithmetic: reshapes, transposes, concat/split, slices.
import type { VjpContext, VjpRule } from "./context.js";

const reshapeBack: VjpRule = (c, n, [gy]) => [c.node("Reshape", [gy!, c.node("Shape", [n.inputs[0]!])])];

const transpose: VjpRule = (c, n, [gy]) => {
  const perm = n.attrs.perm as number[] | undefined;
  if (!perm) return [c.node("Transpose", [gy!])];
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return [c.node("Transpose", [gy!], { perm: inv })];
};

const expand: VjpRule = (c, n, [gy]) => [c.sumTo(gy!, n.outputs[0]!, n.inputs[0]!)];

const concat: VjpRule = (c, n, [gy], needs) => {
  const axis = n.attrs.axis as number;
  const range: Record<string, number> = axis === -1 ? { start: -1 } : { start: axis, end: axis + 1 };
  const sizes = n.inputs.map((x) => c.node("Shape", [x], range));
  const parts = c.g.nodeN("Split", [gy!, c.node("Concat", sizes, { axis: 0 })], { axis }, n.inputs.length);
  return parts.map((p, i) => (needs[i] ? p : undefined));
};

const split: VjpRule = (c, n, gys) => {
  const axis = (n.attrs.axis as number | undefined) ?? 0;
  const parts = n.outputs.map((o, i) => gys[i] ?? c.zerosLike(o));
  return [c.node("Concat", parts, { axis })];
};

/** The selected positions along each sliced axis, scattered back into zeros one axis at a time. */
const slice: VjpRule = (c, n, [gy]) => {
  const [x, starts, ends, axesIn, steps] = n.inputs as [
    string,
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  const rank = c.rank(x, "Slice");
  let axes = c.constInts(axesIn);
  if (!axes) {
    if (axesIn) throw new Error("autodiff: Slice with non-constant axes is not supported");
    const len = c.shape(starts)?.[0];
    if (typeof len !== "number") throw new Error("autodiff: Slice with an unknown number of axes");
    axes = Array.from({ length: len }, (_, i) => i);
  }
  const padded = padBack(c, x, gy!, axes, starts, ends, steps, rank);
  if (padded) return [padded];
  const shapeX = c.node("Shape", [x]);
  let cur = gy!;
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + rank : a0;
    const pick = (v: string) => c.node("Slice", [v, c.ints([i]), c.ints([i + 1])]);
    const dim = c.node("Gather", [shapeX, c.ints([a])]);
    const range = c.node("Range", [scalarInt(c, 0), c.node("Squeeze", [dim]), scalarInt(c, 1)]);
    const sliceInputs = [range, pick(starts), pick(ends), c.ints([0])];
    if (steps) sliceInputs.push(pick(steps));
    const sel = c.node("Slice", sliceInputs);
    const bshape = Array<number>(rank).fill(1);
    bshape[a] = -1;
    const curShape = c.node("Shape", [cur]);
    const idx = c.node("Expand", [c.node("Reshape", [sel, c.ints(bshape)]), curShape]);
    const mask = Array.from({ length: rank }, (_, k) => (k === a ? 1 : 0));
    const target = c.node("Where", [c.g.constant("bool", [rank], mask), shapeX, curShape]);
    const zeros = c.node("ConstantOfShape", [target], { value: c.zerosTensor(c.dtype) });
    cur = c.node("ScatterElements", [zeros, idx, cur], { axis: a });
  });
  return [cur];
};

/** A unit-step slice with constant bounds on axes of known size: the gradient is gy zero-padded back. */
function padBack(
  c: VjpContext,
  x: string,
  gy: string,
  axes: number[],
  starts: string,
  ends: string,
  steps: string | undefined,
  rank: number,
): string | undefined {
  const st = c.constInts(starts);
  const en = c.constInts(ends);
  const sp = steps ? c.constInts(steps) : axes.map(() => 1);
  const sx = c.shape(x);
  if (!st || !en || !sp || !sx || sp.some((v) => v !== 1)) return undefined;
  const pads = Array<number>(2 * rank).fill(0);
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]! < 0 ? axes[i]! + rank : axes[i]!;
    const d = sx[a];
    if (typeof d !== "number") return undefined;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const lo = clamp(st[i]!);
    const hi = Math.max(lo, clamp(en[i]!));
    pads[a] = lo;
    pads[rank + a] = d - hi;
  }
  return c.node("Pad", [gy, c.ints(pads)], { mode: "constant" });
}

/** Tile(x, reps): gy viewed as [r0, d0, r1, d1, …] and summed over the repeat axes. */
const tile: VjpRule = (c, n, [gy]) => {
  const [x, repsIn] = n.inputs as [string, string];
  const reps = c.constInts(repsIn);
  if (!reps) throw new Error("autodiff: Tile with non-constant repeats is not supported");
  const shapeX = c.node("Shape", [x]);
  const parts = reps.flatMap((r, i) => [c.ints([r]), c.node("Gather", [shapeX, c.ints([i])])]);
  const split = c.node("Reshape", [gy!, c.node("Concat", parts, { axis: 0 })]);
  const axes = reps.map((_, i) => 2 * i);
  return [c.node("ReduceSum", [split, c.ints(axes)], { keepdims: 0 })];
};

function scalarInt(c: VjpContext, v: number): string {
  return c.g.constant("int64", [], [BigInt(v)]);
}

export const shapeRules: Record<string, VjpRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Unsqueeze: reshapeBack,
  Squeeze: reshapeBack,
  Transpose: transpose,
  Expand: expand,
  Concat: concat,
  Split: split,
  Slice: slice,
  Tile: tile,
};
