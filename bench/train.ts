// bench/train: training tokens/s of one optimizer step (forward + backward + AdamW) for LoRA and CPT, beside
// the oracle's PyTorch eager step (`oracle.py bench --mode train-lora|train-cpt --dtype float32`) on the same
// model, batch, sequence length and thread count. Goal: at least as fast. Peak memory (VmHWM) reported.
//
//   node --conditions=development --import tsx bench/train.ts [--model models/tinystories-llama-8L]
//        [--batch 4] [--seq-len 128] [--iters 10] [--warmup 2] [--threads 2] [--oracle ../shared/oracle/oracle.py]
//
// Each side runs in its own child process, so peak RSS is per side. PyTorch is run with OPENBLAS_NUM_THREADS=1
// and =threads (its BLAS threads can oversubscribe the cores) and the better one is the reference.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mulberry32, trainCpt, trainLora } from "@shortened/engine";
import { Checkpoint } from "@shortened/hf";

const repoRoot = new URL("..", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: join(repoRoot, "models/tinystories-llama-8L") },
    batch: { type: "string", default: "4" },
    "seq-len": { type: "string", default: "128" },
    iters: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    oracle: { type: "string", default: join(repoRoot, "../shared/oracle/oracle.py") },
    child: { type: "string" },
  },
});
const B = Number(args.batch);
const T = Number(args["seq-len"]);
const iters = Number(args.iters);
const warmup = Number(args.warmup);
const threads = Number(args.threads);

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Child: time `warmup + iters` optimizer steps of one micro-batch of B×T random ids. */
async function child(mode: "lora" | "cpt"): Promise<void> {
  const ckpt = Checkpoint.open(args.model!);
  const next = mulberry32(0);
  const ids = Array.from({ length: B }, () =>
    Array.from({ length: T }, () => next() % ckpt.config.vocabSize),
  );
  const tmp = mkdtempSync(join(os.tmpdir(), "bench-train-"));
  const stamps: number[] = [];
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
    onProgress: () => stamps.push(performance.now()),
  };
  const t0 = performance.now();
  try {
    if (mode === "lora") await trainLora({ ...common, r: 8, alpha: 16 });
    else await trainCpt(common);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const steps = stamps.slice(warmup).map((t, i) => (t - stamps[warmup + i - 1]!) / 1000);
  const s = median(steps);
  process.stdout.write(
    JSON.stringify({
      median_s: s,
      min_s: Math.min(...steps),
      max_s: Math.max(...steps),
      tokens_per_s: (B * T) / s,
      total_s: (performance.now() - t0) / 1000,
      peak_rss_mb: peakRssMb(),
    }),
  );
}

function run(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): { out: Record<string, number>; peakMb: number } {
  const r = spawnSync("/usr/bin/time", ["-v", cmd, ...argv], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const text = r.stdout.trim();
  return { out: JSON.parse(text.slice(text.indexOf("{"))), peakMb: m ? Number(m[1]) / 1024 : Number.NaN };
}

async function main(): Promise<void> {
  if (args.child) return child(args.child as "lora" | "cpt");
  const rows: Record<string, unknown>[] = [];
  for (const mode of ["lora", "cpt"] as const) {
    const ours = run(process.execPath, [
      "--conditions=development",
      "--import",
      "tsx",
      new URL(import.meta.url).pathname,
      "--child",
      mode,
      ...passArgs(),
    ]);
    const torch = [1, threads].map((blas) => {
      const o = run(
        "/usr/bin/python3",
        [args.oracle!, "bench", "--mode", `train-${mode}`, "--dtype", "float32", ...passArgs()],
        { OPENBLAS_NUM_THREADS: String(blas) },
      );
      return {
        blasThreads: blas,
        tokensPerS: o.out.tokens_per_s!,
        medianS: o.out.median_s!,
        peakRssMb: o.peakMb,
      };
    });
    const best = torch.reduce((a, b) => (b.tokensPerS > a.tokensPerS ? b : a));
    rows.push({
      mode,
      ours: {
        tokensPerS: ours.out.tokens_per_s,
        medianS: ours.out.median_s,
        minS: ours.out.min_s,
        maxS: ours.out.max_s,
        peakRssMb: ours.peakMb,
      },
      pytorch: torch,
      ratio: (ours.out.tokens_per_s as number) / best.tokensPerS,
    });
    console.error(
      `${mode}: ours ${Math.round(ours.out.tokens_per_s!)} tokens/s (peak ${Math.round(ours.peakMb)} MB) vs PyTorch ${Math.round(best.tokensPerS)} tokens/s (OPENBLAS ${best.blasThreads}, peak ${Math.round(best.peakRssMb)} MB): ×${((ours.out.tokens_per_s as number) / best.tokensPerS).toFixed(2)}`,
    );
  }
  const result = {
    date: new Date().toISOString(),
    model: args.model,
    batch: B,
    seqLen: T,
    iters,
    warmup,
    threads,
    cpu: os.cpus()[0]?.model,
    rows,
  };
  writeFileSync(join(repoRoot, "bench/results/train.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
}

/** The shared settings, as both our child and the oracle's bench take them. */
function passArgs(): string[] {
  return [
    "--model",
    args.model!,
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
  ];
}

await main();
