// bench/train: speed of one optimizer step (forward + backward + AdamW, float32) for LoRA and CPT, on the demo
// model and the generated ~100M LLaMA (bench/model-100m.ts). For each model and mode it reports
// - model FLOP/s as a fraction of the float32 GEMM ceiling (ORT MLAS MatMul [B·T, hidden] × [hidden,
//   intermediate], the weight prepacked for LoRA's frozen base and fed as an input for CPT, as their graphs hold
//   them), 10 runs before and 10 after the steps in the same process: the fraction of the fastest run is the
//   headline (conservative), the fraction of their median shows what the load took; both survive a loaded
//   machine better than tokens/s. FLOPs are counted, not measured: LoRA 2x and CPT
//   3x the forward's (block projections, attention scores and mixing, head on every position; bench/flops.ts);
//   LoRA's adapters, norms, RoPE, softmax and AdamW are left out. Goal: at least 0.6 on the 100M model.
// - user + system CPU time over wall time during the timed steps: about `threads` when every core works.
// - where a step's time goes: the medians of its gradient-session (forward + backward) and optimizer seconds.
// - peak RSS (/usr/bin/time -v) beside the float32 weights' size.
// - the oracle's PyTorch eager step (`oracle.py bench --mode train-lora|train-cpt --dtype float32`, the better
//   of OPENBLAS_NUM_THREADS 1 and `threads`) on the same model, batch, length and thread count.
//
//   node --conditions=development --import tsx bench/train.ts [--models demo,100m] [--batch 4] [--seq-len 128]
//        [--iters 10] [--warmup 2] [--threads 2] [--skip-pytorch] [--oracle ../shared/oracle/oracle.py]
//
// Each side runs in its own child process, so peak RSS is per side. Results: --result (default
// bench/results/train.json, relative to the repository; not written with --skip-pytorch).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { forwardFlops, gemmRates, mulberry32, parameterCount, trainCpt, trainLora } from "@shortened/engine";
import { Checkpoint } from "@shortened/hf";
import { model100m } from "./model-100m.js";

const repoRoot = new URL("..", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    models: { type: "string", default: "demo,100m" },
    modes: { type: "string", default: "lora,cpt" },
    batch: { type: "string", default: "4" },
    "seq-len": { type: "string", default: "128" },
    iters: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    oracle: { type: "string", default: join(repoRoot, "../shared/oracle/oracle.py") },
    "skip-pytorch": { type: "boolean", default: false },
    result: { type: "string", default: "bench/results/train.json" },
    child: { type: "string" },
    model: { type: "string" },
  },
});
const B = Number(args.batch);
const T = Number(args["seq-len"]);
const iters = Number(args.iters);
const warmup = Number(args.warmup);
const threads = Number(args.threads);
if (!(warmup >= 1))
  throw new Error("--warmup must be at least 1 (the first timed step starts at a warm-up's end)");
type Mode = "lora" | "cpt";
/** Training FLOPs per forward FLOP: LoRA's backward is the input gradients only, CPT's adds the weight gradients. */
const FORWARD_MULTIPLE: Record<Mode, number> = { lora: 2, cpt: 3 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const models: Record<string, () => string> = {
  demo: () => join(repoRoot, "models/tinystories-llama-8L"),
  "100m": () => model100m(args.oracle!),
};

/** Child: the ceiling, then `warmup + iters` optimizer steps of one micro-batch of B×T random ids, then the
 *  ceiling again. */
async function child(mode: Mode, model: string): Promise<void> {
  const ckpt = Checkpoint.open(model);
  const c = ckpt.config;
  // the weights as the training graph holds them: LoRA's frozen base prepacked, CPT's fed as inputs
  const weight = mode === "lora" ? "constant" : "input";
  const rates = () => gemmRates(B * T, c.hiddenSize, c.intermediateSize, { threads, runs: 10, weight });
  const ratesBefore = await rates();
  const next = mulberry32(0);
  const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => next() % c.vocabSize));
  const tmp = mkdtempSync(join(os.tmpdir(), "bench-train-"));
  const stamps: { wall: number; cpu: number; gradS: number; optimizerS: number }[] = [];
  const cpuS = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const common = {
    model: ckpt,
    rows: { ids, labels: ids, source: "random" },
    out: join(tmp, "out"),
    steps: warmup + iters,
    batch: B,
    gradAccum: 1,
    lr: 1e-4,
    warmup: 0,
    schedule: "constant" as const,
    maxGradNorm: 1,
    weightDecay: 0,
    threads,
    onProgress: (p: { gradSec: number; optimizerSec: number }) =>
      stamps.push({
        wall: performance.now() / 1000,
        cpu: cpuS(),
        gradS: p.gradSec,
        optimizerS: p.optimizerSec,
      }),
  };
  try {
    if (mode === "lora") await trainLora({ ...common, r: 8, alpha: 16 });
    else await trainCpt(common);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const all = [...ratesBefore, ...(await rates())].sort((a, b) => b - a);
  const timed = stamps.slice(warmup - 1);
  const steps = timed.slice(1).map((s, i) => s.wall - timed[i]!.wall);
  const first = timed[0]!;
  const last = timed[timed.length - 1]!;
  process.stdout.write(
    JSON.stringify({
      median_s: median(steps),
      min_s: Math.min(...steps),
      max_s: Math.max(...steps),
      cpu_per_wall: (last.cpu - first.cpu) / (last.wall - first.wall),
      grad_median_s: median(timed.slice(1).map((s) => s.gradS)),
      optimizer_median_s: median(timed.slice(1).map((s) => s.optimizerS)),
      ceiling_flops: all[0],
      ceiling_median_flops: median(all),
      ceiling_before_flops: ratesBefore[0],
    }),
  );
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync("/usr/bin/time", ["-v", cmd, ...argv], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const text = r.stdout.trim();
  return {
    out: JSON.parse(text.slice(text.indexOf("{"))) as Record<string, number>,
    peakMb: m ? Number(m[1]) / 1024 : Number.NaN,
  };
}

/** The shared settings, as both our child and the oracle's bench take them. */
function passArgs(model: string): string[] {
  const pairs = { model, batch: B, "seq-len": T, iters, warmup, threads };
  return Object.entries(pairs).flatMap(([k, v]) => [`--${k}`, String(v)]);
}

function pytorch(mode: Mode, model: string) {
  const sides = [1, threads].map((blas) => {
    const o = run(
      "/usr/bin/python3",
      [args.oracle!, "bench", "--mode", `train-${mode}`, "--dtype", "float32", ...passArgs(model)],
      { OPENBLAS_NUM_THREADS: String(blas) },
    );
    return {
      blasThreads: blas,
      tokensPerS: o.out.tokens_per_s!,
      medianS: o.out.median_s!,
      peakRssMb: o.peakMb,
    };
  });
  return { sides, best: sides.reduce((a, b) => (b.tokensPerS > a.tokensPerS ? b : a)) };
}

async function main(): Promise<void> {
  if (args.child) return child(args.child as Mode, args.model!);
  const loadBefore = os.loadavg();
  const rows: Record<string, unknown>[] = [];
  for (const name of args.models!.split(",")) {
    const dir = models[name]!();
    const c = Checkpoint.open(dir).config;
    const weightsMb = (4 * parameterCount(c)) / 2 ** 20;
    for (const mode of args.modes!.split(",") as Mode[]) {
      const script = new URL(import.meta.url).pathname;
      const node = ["--conditions=development", "--import", "tsx", script, "--child", mode, ...passArgs(dir)];
      const ours = run(process.execPath, node);
      const o = ours.out;
      const flops = FORWARD_MULTIPLE[mode] * forwardFlops(c, B, T);
      const row = {
        model: name,
        mode,
        params: parameterCount(c),
        stepFlops: flops,
        ours: {
          tokensPerS: (B * T) / o.median_s!,
          medianS: o.median_s,
          minS: o.min_s,
          maxS: o.max_s,
          modelGflops: flops / o.median_s! / 1e9,
          ceilingGflops: o.ceiling_flops! / 1e9,
          ceilingMedianGflops: o.ceiling_median_flops! / 1e9,
          ceilingBeforeGflops: o.ceiling_before_flops! / 1e9,
          fractionOfCeiling: flops / o.median_s! / o.ceiling_flops!,
          fractionOfMedianCeiling: flops / o.median_s! / o.ceiling_median_flops!,
          cpuPerWall: o.cpu_per_wall,
          gradSessionS: o.grad_median_s,
          optimizerS: o.optimizer_median_s,
          peakRssMb: ours.peakMb,
          peakOverWeights: ours.peakMb / weightsMb,
        },
        weightsMb,
        ...(args["skip-pytorch"] ? {} : { pytorch: pytorch(mode, dir) }),
      };
      rows.push(row);
      const r = row.ours;
      const torch = row.pytorch
        ? `; PyTorch ${Math.round(row.pytorch.best.tokensPerS)} tokens/s (OPENBLAS ${row.pytorch.best.blasThreads}, peak ${Math.round(row.pytorch.best.peakRssMb)} MB)`
        : "";
      console.error(
        `${name} ${mode}: ${Math.round(r.tokensPerS)} tokens/s, ${r.modelGflops.toFixed(1)} GFLOP/s = ${r.fractionOfCeiling.toFixed(2)} of the ${r.ceilingGflops.toFixed(1)} GFLOP/s ceiling (${r.fractionOfMedianCeiling.toFixed(2)} of its median ${r.ceilingMedianGflops.toFixed(1)}), CPU/wall ${r.cpuPerWall!.toFixed(2)}, step = gradient session ${r.gradSessionS!.toFixed(2)} s + optimizer ${r.optimizerS!.toFixed(2)} s (medians), peak ${Math.round(r.peakRssMb)} MB (${r.peakOverWeights.toFixed(2)}x weights)${torch}`,
      );
    }
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
    load: { before: loadBefore, after: os.loadavg() },
    rows,
  };
  if (!args["skip-pytorch"])
    writeFileSync(join(repoRoot, args.result!), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
}

await main();
