// U with Uᵀ U = H⁻¹ (see ./cholesky.ts) by a recursive blocked Cholesky-and-inverse of A = P H P whose large
// products run as float64 ONNX Runtime Gemms (MLAS DGEMM, ~50–60 GFLOP/s on this machine's 2 cores against
// ~0.25 GFLOP/s for the host loops). For A = [A11 ·; A21 A22], L = chol(A), X = L⁻¹:
//   X11 = f(A11);  L21 = A21 X11ᵀ;  S = A22 − L21 L21ᵀ (the Schur complement);  T = L21 X11;
//   X22 = f(S);    X21 = −X22 T.
// Diagonal blocks of at most `leaf` columns are factored on the host (cholesky.ts). All in float64, in the one
// n × n buffer; a matrix that is not positive definite fails in some leaf (a Schur complement of an SPD matrix
// is SPD) and the factor answers false.
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";
import { lowerCholeskyInverseInPlace } from "./cholesky.js";

export class BlockedFactor {
  private constructor(
    /** a21 [n2, n1], x11 [n1, n1], a22 [n2, n2] → s = a22 − l21 l21ᵀ, t = l21 x11 (l21 = a21 x11ᵀ) */
    private readonly schur: ort.InferenceSession,
    /** x22 [n2, n2], t [n2, n1] → x21 = −x22 t */
    private readonly offDiagonal: ort.InferenceSession,
    /** largest diagonal block factored on the host */
    readonly leaf: number,
  ) {}

  static async open(opts: SessionOptions & { leaf?: number } = {}): Promise<BlockedFactor> {
    const f64 = "float64";
    const g = new GraphBuilder();
    const a21 = g.input("a21", f64, ["n2", "n1"]);
    const x11 = g.input("x11", f64, ["n1", "n1"]);
    const a22 = g.input("a22", f64, ["n2", "n2"]);
    const l21 = g.node("Gemm", [a21, x11], { transB: 1 });
    g.output(g.rename(g.node("Gemm", [l21, l21, a22], { transB: 1, alpha: { float: -1 } }), "s"), f64, [
      "n2",
      "n2",
    ]);
    g.output(g.rename(g.node("Gemm", [l21, x11]), "t"), f64, ["n2", "n1"]);
    const o = new GraphBuilder();
    const x22 = o.input("x22", f64, ["n2", "n2"]);
    const t = o.input("t", f64, ["n2", "n1"]);
    o.output(o.rename(o.node("Gemm", [x22, t], { alpha: { float: -1 } }), "x21"), f64, ["n2", "n1"]);
    const leaf = Math.max(1, Math.floor(opts.leaf ?? 128));
    const session = { ...opts, purpose: "quantize-step" } as const;
    return new BlockedFactor(await createSession(g, session), await createSession(o, session), leaf);
  }

  /** Overwrites `A` (row-major [n, n], symmetric positive definite) with U, upper, Uᵀ U = A⁻¹; false (A then
   *  garbage) when A is not positive definite. */
  async upperCholeskyOfInverseInPlace(A: Float64Array, n: number): Promise<boolean> {
    A.reverse(); // P A P
    if (!(await this.lowerInverse(A, n, 0, n))) return false;
    A.reverse(); // U = P X P
    return true;
  }

  /** The diagonal block [o, o + m) of A (lower triangle read) becomes X = chol(block)⁻¹, lower, upper zeroed. */
  private async lowerInverse(A: Float64Array, n: number, o: number, m: number): Promise<boolean> {
    if (m <= this.leaf) {
      const block = extract(A, n, o, o, m, m);
      if (!lowerCholeskyInverseInPlace(block, m)) return false;
      put(A, n, o, o, m, m, block);
      return true;
    }
    // the first half rounded up to whole leaves, so the leaves line up with GPTQ's 128-column blocks
    const n1 = Math.min(m - 1, Math.ceil(m / 2 / this.leaf) * this.leaf);
    const n2 = m - n1;
    if (!(await this.lowerInverse(A, n, o, n1))) return false;
    const r = await this.schur.run({
      a21: new ort.Tensor("float64", extract(A, n, o + n1, o, n2, n1), [n2, n1]),
      x11: new ort.Tensor("float64", extract(A, n, o, o, n1, n1), [n1, n1]),
      a22: new ort.Tensor("float64", extract(A, n, o + n1, o + n1, n2, n2), [n2, n2]),
    });
    put(A, n, o + n1, o + n1, n2, n2, r["s"]!.data as Float64Array);
    const t = r["t"]!.data as Float64Array;
    if (!(await this.lowerInverse(A, n, o + n1, n2))) return false;
    const x = await this.offDiagonal.run({
      x22: new ort.Tensor("float64", extract(A, n, o + n1, o + n1, n2, n2), [n2, n2]),
      t: new ort.Tensor("float64", t, [n2, n1]),
    });
    put(A, n, o + n1, o, n2, n1, x["x21"]!.data as Float64Array);
    for (let i = 0; i < n1; i++) A.fill(0, (o + i) * n + o + n1, (o + i) * n + o + m); // upper block
    return true;
  }

  async release(): Promise<void> {
    await this.schur.release();
    await this.offDiagonal.release();
  }
}

/** A[r0 : r0 + rows, c0 : c0 + cols] of a row-major [·, n] matrix, contiguous. */
function extract(A: Float64Array, n: number, r0: number, c0: number, rows: number, cols: number) {
  const b = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) b.set(A.subarray((r0 + i) * n + c0, (r0 + i) * n + c0 + cols), i * cols);
  return b;
}

function put(
  A: Float64Array,
  n: number,
  r0: number,
  c0: number,
  rows: number,
  cols: number,
  b: Float64Array,
) {
  for (let i = 0; i < rows; i++) A.set(b.subarray(i * cols, (i + 1) * cols), (r0 + i) * n + c0);
}
