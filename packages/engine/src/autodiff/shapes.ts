// Static shape inference over a GraphBuilder, as far as the graph allows. The VJP rules need ranks
// (to transpose the last two axes, to unsqueeze reduced axes) and use known dims to skip runtime
// broadcast reductions; unknown dims are null and only the rank is relied on.
import type { GraphBuilder, Node, Tensor } from "../graph/builder.js";
import { product, resolveMinusOne } from "./dims.js";

export type SDim = number | string | null;
export type SShape = SDim[];

/** Values of small constant int tensors (initializers and Constant nodes), for axes/perm/shape inputs. */
export function constInts(
  g: GraphBuilder,
  name: string | undefined,
  constants: Map<string, Tensor>,
): number[] | undefined {
  if (!name) return undefined;
  const t = g.initializers.get(name) ?? constants.get(name);
  if (!t || (t.type !== "int64" && t.type !== "int32")) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

export function inferShapes(g: GraphBuilder): {
  shapes: Map<string, SShape>;
  constants: Map<string, Tensor>;
} {
  const shapes = new Map<string, SShape>();
  const constants = new Map<string, Tensor>();
  // symbolic values of small int tensors computed from shapes (Shape → Slice/Gather/Concat → Reshape, Range)
  const values = new Map<string, SDim[]>();
  for (const v of g.inputs) shapes.set(v.name, [...v.shape]);
  for (const [name, t] of g.initializers) shapes.set(name, [...t.dims]);
  for (const n of g.nodes) {
    if (
      n.opType === "Constant" &&
      n.attrs.value &&
      typeof n.attrs.value === "object" &&
      "dims" in n.attrs.value
    ) {
      constants.set(n.outputs[0]!, n.attrs.value as Tensor);
    }
    const out = inferNode(g, n, shapes, constants, values);
    if (out)
      out.forEach((s, i) => {
        s && n.outputs[i] && shapes.set(n.outputs[i]!, s);
      });
    const v = shapeValues(g, n, shapes, constants, values);
    if (v) values.set(n.outputs[0]!, v);
  }
  return { shapes, constants };
}

function broadcast(a: SShape, b: SShape): SShape {
  const r = Math.max(a.length, b.length);
  const out: SShape = [];
  for (let i = 0; i < r; i++) {
    const x = i - (r - a.length) >= 0 ? a[i - (r - a.length)]! : 1;
    const y = i - (r - b.length) >= 0 ? b[i - (r - b.length)]! : 1;
    // an unknown dim broadcast with a number other than 1 must be 1 or that number: the result is the number
    const known = (d: SDim) => typeof d === "number" && d !== 1;
    out.push(
      x === 1
        ? y
        : y === 1
          ? x
          : x === y
            ? x
            : x === null && known(y)
              ? y
              : y === null && known(x)
                ? x
                : null,
    );
  }
  return out;
}

const norm = (a: number, r: number) => (a < 0 ? a + r : a);

const SAME_SHAPE = new Set([
  "Neg",
  "Sqrt",
  "Reciprocal",
  "Exp",
  "Log",
  "Tanh",
  "Sigmoid",
  "Erf",
  "Cast",
  "CastLike",
  "Identity",
  "Softmax",
  "LogSoftmax",
  "Relu",
  "Abs",
  "Not",
  "Sin",
  "Cos",
  "Floor",
  "Ceil",
  "Sign",
  "IsNaN",
  "IsInf",
  "Trilu",
  "CumSum",
  "Dropout",
  "Round",
]);
const BROADCAST = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Where",
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "And",
  "Or",
  "Max",
  "Min",
  "Sum",
  "Mod",
  "Xor",
  "BitwiseAnd",
]);

/** The (possibly symbolic) values of a 1-D or scalar int tensor that comes from shapes. */
function shapeValues(
  g: GraphBuilder,
  n: Node,
  shapes: Map<string, SShape>,
  constants: Map<string, Tensor>,
  values: Map<string, SDim[]>,
): SDim[] | undefined {
  const val = (i: number): SDim[] | undefined => {
    const name = n.inputs[i];
    if (!name) return undefined;
    return values.get(name) ?? constInts(g, name, constants);
  };
  switch (n.opType) {
    case "Shape": {
      const x = shapes.get(n.inputs[0]!);
      if (!x) return undefined;
      const st = norm((n.attrs.start as number | undefined) ?? 0, x.length);
      const en = norm((n.attrs.end as number | undefined) ?? x.length, x.length);
      return x.slice(st, Math.min(en, x.length));
    }
    case "Squeeze":
    case "Unsqueeze":
    case "Identity":
      return val(0)?.length === 1 ? val(0) : undefined;
    case "Concat": {
      const parts = n.inputs.map((_, i) => val(i));
      return parts.every((p) => p) ? (parts.flat() as SDim[]) : undefined;
    }
    case "Gather": {
      const data = val(0);
      const idx = constInts(g, n.inputs[1], constants);
      return data && idx ? idx.map((k) => data[norm(k, data.length)] ?? null) : undefined;
    }
    default:
      return undefined;
  }
}

function inferNode(
  g: GraphBuilder,
  n: Node,
  shapes: Map<string, SShape>,
  constants: Map<string, Tensor>,
  values: Map<string, SDim[]>,
): (SShape | undefined)[] | undefined {
  const s = (i: number) => (n.inputs[i] ? shapes.get(n.inputs[i]!) : undefined);
  const ints = (i: number) => constInts(g, n.inputs[i], constants);
  const x = s(0);
  const op = n.opType;
  if (SAME_SHAPE.has(op)) return x ? [[...x]] : undefined;
  if (BROADCAST.has(op)) {
    const ins = n.inputs.map((_, i) => s(i));
    if (ins.some((v) => !v)) return undefined;
    return [ins.reduce((acc, v) => broadcast(acc!, v!))!];
  }
  switch (op) {
    case "Constant": {
      const t = constants.get(n.outputs[0]!);
      return t ? [[...t.dims]] : undefined;
    }
    case "MatMul": {
      const b = s(1);
      if (!x || !b || x.length < 2 || b.length < 2) return undefined;
      return [[...broadcast(x.slice(0, -2), b.slice(0, -2)), x[x.length - 2]!, b[b.length - 1]!]];
    }
    case "Gemm": {
      const b = s(1);
      if (!x || !b) return undefined;
      return [[n.attrs.transA ? x[1]! : x[0]!, n.attrs.transB ? b[0]! : b[1]!]];
    }
    case "Reshape": {
      const sym = n.inputs[1] ? values.get(n.inputs[1]) : undefined;
      if (sym?.some((d) => typeof d === "string")) {
        return [
          sym.map((d, i) => (d === 0 && n.attrs.allowzero !== 1 ? (x?.[i] ?? null) : d === -1 ? null : d)),
        ];
      }
      const v = ints(1);
      if (v) {
        return [
          v.map((d, i) =>
            d === 0 && n.attrs.allowzero !== 1 ? (x?.[i] ?? null) : d === -1 ? resolveMinusOne(x, v) : d,
          ),
        ];
      }
      const sh = s(1);
      return sh && typeof sh[0] === "number" ? [Array(sh[0]).fill(null)] : undefined;
    }
    case "Flatten": {
      if (!x) return undefined;
      const a = norm((n.attrs.axis as number | undefined) ?? 1, x.length);
      return [[product(x.slice(0, a)), product(x.slice(a))]];
    }
    case "Transpose": {
      if (!x) return undefined;
      const perm = (n.attrs.perm as number[] | undefined) ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p]!)];
    }
    case "Unsqueeze": {
      const axes = ints(1);
      if (!x || !axes) return undefined;
      const r = x.length + axes.length;
      const set = new Set(axes.map((a) => norm(a, r)));
      const out: SShape = [];
      let k = 0;
      for (let i = 0; i < r; i++) out.push(set.has(i) ? 1 : x[k++]!);
      return [out];
    }
    case "Squeeze": {
      if (!x) return undefined;
      const axes = ints(1);
      if (!axes) return [x.filter((d) => d !== 1)];
      const set = new Set(axes.map((a) => norm(a, x.length)));
      return [x.filter((_, i) => !set.has(i))];
    }
    case "Expand": {
      const v = ints(1);
      if (x && v)
        return [
          broadcast(
            x,
            v.map((d) => d),
          ),
        ];
      const sh = s(1);
      if (x && sh && typeof sh[0] === "number") return [broadcast(x, Array(sh[0]).fill(null))];
      return undefined;
    }
    case "Concat": {
      const ins = n.inputs.map((_, i) => s(i));
      if (ins.some((v) => !v)) return undefined;
      const r = ins[0]!.length;
      const a = norm(n.attrs.axis as number, r);
      const out = [...ins[0]!];
      out[a] = ins.every((v) => typeof v![a] === "number")
        ? ins.reduce((acc, v) => acc + (v![a] as number), 0)
        : null;
      return [out];
    }
    case "Split": {
      if (!x) return undefined;
      const a = norm((n.attrs.axis as number | undefined) ?? 0, x.length);
      const sizes = ints(1);
      return n.outputs.map((_, i) => {
        const o = [...x];
        o[a] = sizes ? sizes[i]! : null;
        return o;
      });
    }
    case "Slice": {
      if (!x) return undefined;
      const starts = ints(1);
      const ends = ints(2);
      const symEnds = n.inputs[2] ? values.get(n.inputs[2]) : undefined;
      const axes = ints(3) ?? starts?.map((_, i) => i) ?? symEnds?.map((_, i) => i);
      const steps = ints(4);
      if (!axes) return [x.map(() => null)];
      const o = [...x];
      axes.forEach((a0, i) => {
        const a = norm(a0, x.length);
        const d = x[a];
        const st = steps?.[i] ?? 1;
        const se = symEnds?.[i];
        if (typeof d === "number" && starts && ends && st === 1) {
          const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
          o[a] = Math.max(0, clamp(ends[i]!) - clamp(starts[i]!));
        } else if (typeof se === "string" && starts?.[i] === 0 && st === 1) {
          // a slice [0, n) by a size taken from another tensor's shape (a position table cut to the sequence)
          o[a] = se;
        } else o[a] = null;
      });
      return [o];
    }
    case "Gather": {
      const ix = s(1);
      if (!x || !ix) return undefined;
      const a = norm((n.attrs.axis as number | undefined) ?? 0, x.length);
      return [[...x.slice(0, a), ...ix, ...x.slice(a + 1)]];
    }
    case "GatherElements":
      return s(1) ? [[...s(1)!]] : undefined;
    case "ScatterND":
    case "ScatterElements":
      return x ? [[...x]] : undefined;
    case "Shape": {
      if (!x) return undefined;
      const st = norm((n.attrs.start as number | undefined) ?? 0, x.length);
      const en = norm((n.attrs.end as number | undefined) ?? x.length, x.length);
      return [[Math.max(0, Math.min(en, x.length) - st)]];
    }
    case "Size":
      return [[]];
    case "ConstantOfShape": {
      const v = ints(0);
      if (v) return [v];
      const sh = s(0);
      return sh && typeof sh[0] === "number" ? [Array(sh[0]).fill(null)] : undefined;
    }
    case "Tile": {
      const reps = ints(1);
      return x && reps ? [x.map((d, i) => product([d, reps[i]!]))] : undefined;
    }
    case "Range": {
      const lim = values.get(n.inputs[1]!);
      const start = ints(0);
      const delta = ints(2);
      return [
        [
          lim?.length === 1 && typeof lim[0] === "string" && start?.[0] === 0 && delta?.[0] === 1
            ? lim[0]
            : null,
        ],
      ];
    }
    case "NonZero":
      return x ? [[x.length, null]] : undefined;
    case "ReduceSum":
    case "ReduceMean":
    case "ReduceMax":
    case "ReduceMin":
    case "ReduceSumSquare":
    case "ReduceLogSumExp": {
      if (!x) return undefined;
      const axes = n.inputs[1] ? ints(1) : (n.attrs.axes as number[] | undefined);
      if (n.inputs[1] && !axes) return undefined;
      const keep = (n.attrs.keepdims as number | undefined) ?? 1;
      const all = !axes || axes.length === 0;
      if (all && n.attrs.noop_with_empty_axes === 1) return [[...x]];
      const set = new Set((axes ?? []).map((a) => norm(a, x.length)));
      const hit = (i: number) => all || set.has(i);
      return [keep ? x.map((d, i) => (hit(i) ? 1 : d)) : x.filter((_, i) => !hit(i))];
    }
    case "SoftmaxCrossEntropyLoss": {
      const red = (n.attrs.reduction as string | undefined) ?? "mean";
      return [red === "none" ? s(1) : [], x ? [...x] : undefined];
    }
    default:
      return undefined;
  }
}
