// bench/forward: one run that places our perplexity forward (forward + fused per-token NLL, one batch of B×T ids,
// float32, CPU) against three anchors measured in the same run:
//   - PyTorch eager on the same model, shapes and threads (`oracle.py bench --mode forward --dtype float32`),
//     the better of OPENBLAS_NUM_THREADS=1 and =threads (its BLAS threads can oversubscribe the cores), with
//     that PyTorch's own MatMul GFLOP/s, which shows the BLAS it runs on;
//   - this machine's float32 GEMM ceiling: an ONNX Runtime (MLAS) MatMul [B·T, hidden] × [hidden, intermediate]
//     with the weight a prepacked constant, as the model's are (engine gemmCeiling); the model's FLOP/s
//     (../packages/engine/src/bench/flops.ts: projections, attention, the head on every position) as a fraction
//     of it;
//   - the float32 weights' size against the peak RSS (/usr/bin/time -v) of `shortened eval ppl` on the same
//     B×T tokens, run by the CLI users run (apps/cli/bin/shortened.js: the build when there is one).
// Models: the demo model and the generated ~100M-parameter LLaMA of ./model-100m.ts.
//
//   node --conditions=development --import tsx bench/forward.ts [--batch 4] [--seq-len 128] [--iters 10]
//        [--warmup 2] [--threads 2] [--models demo,100m] [--oracle ../shared/oracle/oracle.py] [--prepare]
//
// `--prepare` only makes the models and prints their folders (bench/forward-compare.sh). Results go to
// bench/results/forward-t<threads>.json.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { float32WeightBytes, forwardFlops, gemmCeiling, mulberry32 } from "@shortened/engine";
import { readConfig } from "@shortened/hf";
import { SHAPE_OPTIONS, shapeFrom, timeOurs } from "./forward-ours.js";
import { model100m } from "./model-100m.js";

const repoRoot = new URL("..", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    ...SHAPE_OPTIONS,
    models: { type: "string", default: "demo,100m" },
    oracle: { type: "string", default: join(repoRoot, "../shared/oracle/oracle.py") },
    prepare: { type: "boolean", default: false },
  },
});
const shape = shapeFrom(args);
const { batch: B, seqLen: T, threads } = shape;
const python = "/usr/bin/python3";

const models: Record<string, () => string> = {
  demo: () => join(repoRoot, "models/tinystories-llama-8L"),
  "100m": () => model100m(args.oracle!),
};

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, argv, { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.slice(0, 3).join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** PyTorch eager forward on this model; the oracle writes its result to a file. */
function pytorch(model: string, blas: number): { blasThreads: number; tokensPerS: number; medianS: number } {
  const out = join(os.tmpdir(), `shortened-bench-forward-oracle-${process.pid}.json`);
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
  ];
  const sizes = ["--batch", B, "--seq-len", T, "--iters", shape.iters, "--warmup", shape.warmup];
  run(python, [...argv, ...sizes.map(String), "--threads", String(threads), "--result", out], {
    OPENBLAS_NUM_THREADS: String(blas),
  });
  const o = JSON.parse(readFileSync(out, "utf8"));
  rmSync(out, { force: true });
  return { blasThreads: blas, tokensPerS: o.tokens_per_s, medianS: o.median_s };
}

/** PyTorch's own float32 MatMul at the ceiling's shape: ~4.5 GFLOP/s means a generic reference BLAS. */
function torchGemmGflops(M: number, K: number, N: number, blas: number): number {
  const code = `import torch, time
torch.set_num_threads(${threads}); a = torch.rand(${M}, ${K}) - 0.5; w = torch.rand(${K}, ${N}) - 0.5
for _ in range(2): a @ w
ts = []
for _ in range(5):
    t0 = time.perf_counter(); a @ w; ts.append(time.perf_counter() - t0)
print(2 * ${M} * ${K} * ${N} / min(ts) / 1e9)`;
  return Number(run(python, ["-c", code], { OPENBLAS_NUM_THREADS: String(blas) }).trim());
}

/** Peak RSS of `shortened eval ppl` over B×T tokens of this model, and the plan it printed. */
function evalPplPeak(model: string, vocab: number): { bytes: number; plan: string; fromBuild: boolean } {
  const dir = mkdtempSync(join(os.tmpdir(), "shortened-bench-forward-"));
  try {
    const next = mulberry32(3);
    const ids = Array.from({ length: B * T }, () => next() % vocab);
    writeFileSync(join(dir, "ids.json"), JSON.stringify({ ids }));
    const cli = [
      "apps/cli/bin/shortened.js",
      "eval",
      "ppl",
      "--model",
      model,
      "--ids",
      join(dir, "ids.json"),
    ];
    const flags = ["--seq-len", String(T), "--batch-size", String(B), "--threads", String(threads), "--json"];
    const r = spawnSync("/usr/bin/time", ["-v", process.execPath, ...cli, ...flags], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`eval ppl failed: ${r.stderr}`);
    const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)![1]);
    const plan = JSON.parse(r.stdout).plan?.summary ?? "";
    return { bytes: kb * 1024, plan, fromBuild: existsSync(join(repoRoot, "apps/cli/dist/main.js")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.prepare) {
  console.log(JSON.stringify(Object.fromEntries(args.models!.split(",").map((n) => [n, models[n]!()]))));
  process.exit(0);
}

const loadStart = os.loadavg();
const rows: Record<string, unknown>[] = [];
for (const name of args.models!.split(",")) {
  const dir = models[name]!();
  const c = readConfig(dir);
  const M = B * T;
  // the ceiling right before our forward, so that both see the same load
  const ceiling = await gemmCeiling(M, c.hiddenSize, c.intermediateSize, { threads, weight: "constant" });
  const o = await timeOurs(dir, shape);
  const blasCounts = [...new Set([1, threads])];
  const torch = blasCounts.map((blas) => pytorch(dir, blas));
  const best = torch.reduce((a, b) => (b.tokensPerS > a.tokensPerS ? b : a));
  const torchGemm = Math.max(
    ...blasCounts.map((blas) => torchGemmGflops(M, c.hiddenSize, c.intermediateSize, blas)),
  );
  const modelFlops = forwardFlops(c, B, T) / o.medianS;
  const peak = evalPplPeak(dir, c.vocabSize);
  const weights = float32WeightBytes(c).total;
  rows.push({
    model: name,
    dir,
    params: o.params,
    ours: o,
    pytorch: torch,
    ratio: o.tokensPerS / best.tokensPerS,
    gemmCeilingGflops: ceiling / 1e9,
    pytorchGemmGflops: torchGemm,
    modelGflops: modelFlops / 1e9,
    fractionOfCeiling: modelFlops / ceiling,
    float32WeightBytes: weights,
    evalPplPeakRssBytes: peak.bytes,
    peakOverWeights: peak.bytes / weights,
    evalPplPlan: peak.plan,
    evalPplFromBuild: peak.fromBuild,
  });
  console.error(
    `${name} (${(o.params / 1e6).toFixed(1)}M params): ours ${Math.round(o.tokensPerS)} tok/s, PyTorch ${Math.round(best.tokensPerS)} (OPENBLAS ${best.blasThreads}) ×${(o.tokensPerS / best.tokensPerS).toFixed(2)}; ` +
      `${(modelFlops / 1e9).toFixed(1)} GFLOP/s = ${((100 * modelFlops) / ceiling).toFixed(0)}% of the ${(ceiling / 1e9).toFixed(1)} GFLOP/s MatMul ceiling (PyTorch's MatMul ${torchGemm.toFixed(1)}); ` +
      `eval ppl peak RSS ${(peak.bytes / 2 ** 30).toFixed(2)} GiB = ${(peak.bytes / weights).toFixed(2)}x the float32 weights`,
  );
}
const result = {
  date: new Date().toISOString(),
  ...shape,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  load: {
    start: loadStart.map((x) => Number(x.toFixed(1))),
    end: os.loadavg().map((x) => Number(x.toFixed(1))),
  },
  rows,
};
writeFileSync(
  join(repoRoot, `bench/results/forward-t${threads}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(JSON.stringify(result));
