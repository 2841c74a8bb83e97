// The float32 GEMM ceiling of this machine as ONNX Runtime's CPU provider (MLAS) reaches it: the best GFLOP/s of
// one MatMul [M, K] × [K, N] over a few runs, with the weight fed as an input (as a streamed block's are), or with
// `weight: "constant"` an initializer that ONNX Runtime prepacks once (as a whole model's are). Benchmarks measure it in the same
// process as the model they time and report model FLOP/s as a fraction of it: under a loaded machine the
// fraction moves much less than either figure alone.
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort } from "../graph/session.js";
import { mulberry32 } from "../random.js";

export interface GemmOptions {
  threads?: number;
  runs?: number;
  weight?: "input" | "constant";
}

/** FLOP/s (2·M·K·N per run) of the fastest of `runs` MatMuls after 2 warm-up runs. */
export async function gemmCeiling(M: number, K: number, N: number, opts: GemmOptions = {}): Promise<number> {
  return (await gemmRates(M, K, N, opts))[0]!;
}

/** FLOP/s of each of `runs` MatMuls after 2 warm-up runs, fastest first (a median beside the best says how
 *  much the machine's load moved them). */
export async function gemmRates(M: number, K: number, N: number, opts: GemmOptions = {}): Promise<number[]> {
  const next = mulberry32(1);
  const fill = (n: number) => Float32Array.from({ length: n }, () => next() / 2 ** 32 - 0.5);
  const constant = opts.weight === "constant";
  const g = new GraphBuilder();
  const a = g.input("a", "float32", [M, K]);
  const w = constant
    ? g.initializer("w", { type: "float32", dims: [K, N], data: fill(K * N) })
    : g.input("w", "float32", [K, N]);
  g.output(g.rename(g.node("MatMul", [a, w]), "y"), "float32", [M, N]);
  const s = await createSession(g, { threads: opts.threads });
  try {
    const feeds: Record<string, ort.Tensor> = { a: new ort.Tensor("float32", fill(M * K), [M, K]) };
    if (!constant) feeds.w = new ort.Tensor("float32", fill(K * N), [K, N]);
    const rates: number[] = [];
    for (let i = 0; i < 2 + (opts.runs ?? 5); i++) {
      const t0 = performance.now();
      await s.run(feeds);
      if (i >= 2) rates.push((2 * M * K * N) / ((performance.now() - t0) / 1000));
    }
    return rates.sort((x, y) => y - x);
  } finally {
    await s.release();
  }
}
