// GPTQ's lazy batch update after each block of columns, W[:, i2:] −= Err1 · U[i1:i2, i2:], as one ONNX Runtime
// MatMul (float64, the precision of the host's column loop); the caller may bound it to the columns before `end`
// and apply the rest later for several blocks at once (./gptq-linear.ts). Weights are held transposed, Wt [in, out], so the
// columns after the block are the contiguous tail of Wt and the update is Wt[i2:] −= U[i1:i2, i2:]ᵀ · Err1ᵀ.
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";

export class TrailingUpdate {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly quadratic: ort.InferenceSession,
  ) {}

  static async open(opts: SessionOptions = {}): Promise<TrailingUpdate> {
    const g = new GraphBuilder();
    const a = g.input("u_rows", "float64", ["block", "rest"]);
    const e = g.input("err", "float64", ["block", "out"]);
    const c = g.input("tail", "float64", ["rest", "out"]);
    const prod = g.node("MatMul", [g.node("Transpose", [a], { perm: [1, 0] }), e]);
    g.output(g.rename(g.node("Sub", [c, prod]), "updated"), "float64", ["rest", "out"]);
    // ½ Σ_rows Δ H Δᵀ (RTN's loss, the quadratic GPTQ's Losses equal in exact arithmetic)
    const q = new GraphBuilder();
    const d = q.input("delta", "float64", ["out", "n"]);
    const h = q.input("hessian", "float64", ["n", "n"]);
    const dh = q.node("Mul", [q.node("MatMul", [d, h]), d]);
    const sum = q.node("ReduceSum", [q.node("Reshape", [dh, q.int64s([-1])])], { keepdims: 0 });
    q.output(q.rename(sum, "quadratic"), "float64", []);
    const session = { ...opts, purpose: "quantize-step" } as const;
    return new TrailingUpdate(await createSession(g, session), await createSession(q, session));
  }

  /** ½ Σ_o Δ[o] H Δ[o]ᵀ for Δ [out, n] and H [n, n]. */
  async halfQuadratic(delta: Float64Array, H: Float64Array, out: number, n: number): Promise<number> {
    const r = await this.quadratic.run({
      delta: new ort.Tensor("float64", delta, [out, n]),
      hessian: new ort.Tensor("float64", H, [n, n]),
    });
    return (r["quadratic"]!.data as Float64Array)[0]! / 2;
  }

  /** wt[from·out : end·out] −= U[i1:i2, from:end]ᵀ · err, with err [i2 − i1, out] and U row-major [n, n]. */
  async apply(
    wt: Float64Array,
    U: Float64Array,
    n: number,
    out: number,
    i1: number,
    i2: number,
    err: Float64Array,
    from = i2,
    end = n,
  ) {
    const b = i2 - i1;
    const rest = end - from;
    if (rest <= 0) return;
    const rows = new Float64Array(b * rest);
    for (let r = 0; r < b; r++) rows.set(U.subarray((i1 + r) * n + from, (i1 + r) * n + end), r * rest);
    const tail = wt.subarray(from * out, end * out);
    const r = await this.session.run({
      u_rows: new ort.Tensor("float64", rows, [b, rest]),
      err: new ort.Tensor("float64", err, [b, out]),
      tail: new ort.Tensor("float64", tail, [rest, out]),
    });
    tail.set(r["updated"]!.data as Float64Array);
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.quadratic.release();
  }
}
