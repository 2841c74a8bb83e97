// bench/forward: tokens/s of the perplexity forward (forward + fused per-token NLL, one batch of B×T ids) on CPU,
// beside the oracle's PyTorch eager forward (`oracle.py bench --mode forward --dtype float32`) on the same model,
// shapes and thread count. Goal: at least 1.5× PyTorch. Runs the demo model and a generated ~100M-parameter
// LLaMA (12 blocks, hidden 768, GQA 12/4 heads, intermediate 2048, vocab 16000; made by the oracle's gen-model).
//
//   node --conditions=development --import tsx bench/forward.ts [--batch 4] [--seq-len 128] [--iters 10]
//        [--warmup 2] [--threads 2] [--models demo,100m] [--oracle ../shared/oracle/oracle.py]
//
// `--skip-pytorch` times ours alone and prints the JSON without writing results (bench/forward-compare.sh).
// PyTorch runs with OPENBLAS_NUM_THREADS=1 and =threads (its BLAS threads can oversubscribe the cores); the
// better of the two is the reference. Results go to bench/results/forward-t<threads>.json.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ForwardSession, mulberry32, shiftedTargets } from "@shortened/engine";
import { model100m } from "./model-100m.js";

const repoRoot = new URL("..", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    batch: { type: "string", default: "4" },
    "seq-len": { type: "string", default: "128" },
    iters: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    models: { type: "string", default: "demo,100m" },
    oracle: { type: "string", default: join(repoRoot, "../shared/oracle/oracle.py") },
    "skip-pytorch": { type: "boolean", default: false },
  },
});
const B = Number(args.batch);
const T = Number(args["seq-len"]);
const iters = Number(args.iters);
const warmup = Number(args.warmup);
const threads = Number(args.threads);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const models: Record<string, () => string> = {
  demo: () => join(repoRoot, "models/tinystories-llama-8L"),
  "100m": () => model100m(args.oracle!),
};

async function ours(
  model: string,
): Promise<{ tokensPerS: number; medianS: number; minS: number; maxS: number; params: number }> {
  const s = await ForwardSession.open(model, { threads, maxSeqLen: T });
  try {
    const next = mulberry32(0);
    const ids = Array.from({ length: B * T }, () => next() % s.config.vocabSize);
    const targets = shiftedTargets(ids, B, T);
    const times: number[] = [];
    for (let i = 0; i < warmup + iters; i++) {
      const t0 = performance.now();
      await s.run({ batch: B, seqLen: T, ids, targets }, { nll: true });
      if (i >= warmup) times.push((performance.now() - t0) / 1000);
    }
    const m = median(times);
    return {
      tokensPerS: (B * T) / m,
      medianS: m,
      minS: Math.min(...times),
      maxS: Math.max(...times),
      params: s.checkpoint.parameterCount(),
    };
  } finally {
    await s.release();
  }
}

function pytorch(model: string, blas: number): { blasThreads: number; tokensPerS: number; medianS: number } {
  const argv = [
    args.oracle!,
    "bench",
    "--quiet",
    "--model",
    model,
    "--mode",
    "forward",
    "--dtype",
    "float32",
    "--batch",
    String(B),
    "--seq-len",
    String(T),
    "--iters",
    String(iters),
    "--warmup",
    String(warmup),
    "--threads",
    String(threads),
    "--result",
    join(os.tmpdir(), "shortened-bench-forward-oracle.json"),
  ];
  const r = spawnSync("/usr/bin/python3", argv, {
    encoding: "utf8",
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(blas) },
  });
  if (r.status !== 0) throw new Error(`oracle bench failed: ${r.stderr}`);
  const o = JSON.parse(readFileSync(join(os.tmpdir(), "shortened-bench-forward-oracle.json"), "utf8"));
  return { blasThreads: blas, tokensPerS: o.tokens_per_s, medianS: o.median_s };
}

const rows: Record<string, unknown>[] = [];
for (const name of args.models!.split(",")) {
  const dir = models[name]!();
  const o = await ours(dir);
  if (args["skip-pytorch"]) {
    rows.push({ model: name, dir, params: o.params, ours: o });
    continue;
  }
  const torch = [1, threads].map((blas) => pytorch(dir, blas));
  const best = torch.reduce((a, b) => (b.tokensPerS > a.tokensPerS ? b : a));
  rows.push({
    model: name,
    dir,
    params: o.params,
    ours: o,
    pytorch: torch,
    ratio: o.tokensPerS / best.tokensPerS,
  });
  console.error(
    `${name} (${(o.params / 1e6).toFixed(1)}M params): ours ${Math.round(o.tokensPerS)} tokens/s vs PyTorch ${Math.round(best.tokensPerS)} (OPENBLAS ${best.blasThreads}): ×${(o.tokensPerS / best.tokensPerS).toFixed(2)}`,
  );
}
const result = {
  date: new Date().toISOString(),
  batch: B,
  seqLen: T,
  iters,
  warmup,
  threads,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  rows,
};
if (!args["skip-pytorch"])
  writeFileSync(
    join(repoRoot, `bench/results/forward-t${threads}.json`),
    `${JSON.stringify(result, null, 2)}\n`,
  );
console.log(JSON.stringify(result));
