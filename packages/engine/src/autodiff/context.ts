// What a VJP rule may use: the builder, the float dtype of the gradients, static shapes of forward values,
// and helpers that every rule needs (constants, zeros, reducing a broadcast gradient back to its input).
import type { ElemType, GraphBuilder, Node, Tensor } from "../graph/builder.js";
import { constInts, type SShape } from "./shapes.js";

export type FloatType = "float32" | "float64";

/** A vector-Jacobian rule: given the gradients of a node's outputs (undefined = zero), returns the
 *  gradient contribution for each input whose `needs` flag is set. */
export type VjpRule = (
  ctx: VjpContext,
  node: Node,
  gys: (string | undefined)[],
  needs: boolean[],
) => (string | undefined)[];

export class VjpContext {
  private readonly scalars = new Map<number, string>();
  private readonly intVecs = new Map<string, string>();

  constructor(
    readonly g: GraphBuilder,
    readonly dtype: FloatType,
    readonly shapes: Map<string, SShape>,
    private readonly constants: Map<string, Tensor>,
  ) {}

  node(op: string, inputs: string[], attrs: Node["attrs"] = {}): string {
    return this.g.node(op, inputs, attrs);
  }

  /** A scalar of the gradient dtype (shared between rules). */
  scalar(v: number): string {
    let s = this.scalars.get(v);
    if (!s) {
      s = this.g.scalar(v, this.dtype);
      this.scalars.set(v, s);
    }
    return s;
  }

  ints(values: number[]): string {
    const key = values.join(",");
    let s = this.intVecs.get(key);
    if (!s) {
      s = this.g.int64s(values);
      this.intVecs.set(key, s);
    }
    return s;
  }

  constInts(name: string | undefined): number[] | undefined {
    return constInts(this.g, name, this.constants);
  }

  shape(v: string): SShape | undefined {
    return this.shapes.get(v);
  }

  rank(v: string, why: string): number {
    const s = this.shapes.get(v);
    if (!s) throw new Error(`autodiff: the rank of ${v} is unknown (needed by ${why})`);
    return s.length;
  }

  zerosTensor(type: ElemType): Tensor {
    return type === "float64"
      ? { type, dims: [1], data: new Float64Array(1) }
      : { type: "float32", dims: [1], data: new Float32Array(1) };
  }

  /** Whether `n` is a ConstantOfShape of zeros (as zerosLike makes). */
  isZeros(n: Node): boolean {
    if (n.opType !== "ConstantOfShape") return false;
    const value = n.attrs.value as Tensor | undefined;
    return !value || Array.from(value.data as ArrayLike<number>).every((x) => x === 0);
  }

  /** Zeros with the runtime shape of `like`. */
  zerosLike(like: string): string {
    return this.node("ConstantOfShape", [this.node("Shape", [like])], {
      value: this.zerosTensor(this.dtype),
    });
  }

  /** Swaps the last two axes of a forward value (or of a gradient shaped like forward value `like`). */
  transposeLast2(v: string, rank: number): string {
    const perm = Array.from({ length: rank }, (_, i) => i);
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    return this.node("Transpose", [v], { perm });
  }

  /** Reduces `gy` (shaped like forward value `yLike`) to the shape of forward value `x`, undoing broadcasting. */
  sumTo(gy: string, yLike: string, x: string): string {
    return this.sumToShape(gy, this.shapes.get(yLike), x);
  }

  /** Reduces `gy`, whose static shape is `sy` (if known), to the shape of forward value `x`. */
  sumToShape(gy: string, sy: SShape | undefined, x: string): string {
    const sx = this.shapes.get(x);
    if (sx && sy && sameShape(sx, sy)) return gy;
    if (sx && sy && sx.every((d) => d === 1)) {
      const all = this.node("ReduceSum", [gy], { keepdims: 0 });
      return sx.length === 0 ? all : this.node("Reshape", [all, this.ints(sx.map(() => 1))]);
    }
    if (sx && sy && sx.length <= sy.length) {
      // gy is shaped like the broadcast of x with other inputs: an axis where x has a number other than 1 (or
      // the same symbol as gy) keeps its size, so only the leading extra axes and x's 1-axes are summed; a
      // symbolic or unknown dim of x that might be 1 at run time leaves the decision to run time.
      const pad = sy.length - sx.length;
      const axes: number[] = Array.from({ length: pad }, (_, i) => i);
      let static_ = true;
      sx.forEach((dx, i) => {
        const dy = sy[pad + i];
        if (dx === 1) {
          if (dy !== 1) axes.push(pad + i);
        } else if (dx === null || (typeof dx === "string" && dx !== dy)) static_ = false;
      });
      if (static_) {
        const r = axes.length ? this.node("ReduceSum", [gy, this.ints(axes)], { keepdims: 1 }) : gy;
        return pad ? this.node("Reshape", [r, this.node("Shape", [x])]) : r;
      }
    }
    return this.dynamicSumTo(gy, x);
  }

  /** Broadcast reduction decided at run time: sum over the axes where x's (left-padded) shape differs. */
  private dynamicSumTo(gy: string, x: string): string {
    const sx = this.node("Shape", [x]);
    const sg = this.node("Shape", [gy]);
    const d = this.node("Sub", [this.node("Size", [sg]), this.node("Size", [sx])]);
    const ones = this.node("ConstantOfShape", [this.node("Unsqueeze", [d, this.ints([0])])], {
      value: { type: "int64", dims: [1], data: BigInt64Array.from([1n]) },
    });
    const padded = this.node("Concat", [ones, sx], { axis: 0 });
    const differs = this.node("Not", [this.node("Equal", [padded, sg])]);
    const axes = this.node("Reshape", [this.node("NonZero", [differs]), this.ints([-1])]);
    const r = this.node("ReduceSum", [gy, axes], { keepdims: 1, noop_with_empty_axes: 1 });
    return this.node("Reshape", [r, sx]);
  }
}

/** A numeric attribute, whether stored as a plain number or as `{ float }`. */
export function attrNumber(v: unknown, fallback: number): number {
  if (typeof v === "number") return v;
  if (v && typeof v === "object" && "float" in v) return (v as { float: number }).float;
  return fallback;
}

export function sameShape(a: SShape, b: SShape): boolean {
  return a.length === b.length && a.every((d, i) => d !== null && d === b[i]);
}
