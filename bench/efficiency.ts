// bench/efficiency: the paper's efficiency claim on this machine. A generated 12-block LLaMA (oracle gen-model,
// hidden 512, so the matrix products dominate) is depth-pruned by 3 blocks (25%) with the product's own surgery,
// and width-pruned to the same parameter count (the paper's baseline). All generate 128 tokens after 128
// (greedy, forced length) with the KV cache, their runs alternating.
// Goal: at batch 1 the pruned/original latency ratio, and the original/pruned throughput ratio's inverse,
// are within 10% of the FLOP ratio. Writes bench/results/efficiency.{json,md,svg}.
//
//   node --conditions=development --import tsx bench/efficiency.ts [--batch-sizes 1,4] [--runs 9] [--threads 2] [--no-memory]
//
// With --gptq: the paper's deployment rows instead, on the trained 12-block TinyStories model (models/): original,
// pruned by 3 blocks, and pruned + GPTQ 4-bit (per-row groups: its 344-wide MLP has no group of 128; calibration
// 32 × 256 TinyStories tokens), run with MatMulNBits (`--accuracy-level`, default 0). Writes
// bench/results/efficiency-gptq.{json,md}.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchmarkGeneration } from "@shortened/engine";
import { Checkpoint, pruneCheckpoint, widthPrune } from "@shortened/hf";
import { benchmarkTable } from "../apps/cli/src/commands/bench.js";
import { benchmarkSvg } from "../apps/cli/src/commands/bench-plot.js";

const { values: a } = parseArgs({
  options: {
    "batch-sizes": { type: "string", default: "1,4" },
    runs: { type: "string", default: "9" },
    warmup: { type: "string", default: "1" },
    threads: { type: "string" },
    device: { type: "string", default: "cpu" },
    dir: { type: "string", default: "/tmp/shortened-efficiency" },
    oracle: { type: "string", default: new URL("../../shared/oracle/oracle.py", import.meta.url).pathname },
    "no-memory": { type: "boolean", default: false },
    gptq: { type: "boolean", default: false },
    "accuracy-level": { type: "string", default: "0" },
  },
});
// The timing settings both comparisons share.
const runSettings = {
  batchSizes: a["batch-sizes"]!.split(",").map(Number),
  inputLen: 128,
  outputLen: 128,
  warmup: Number(a.warmup),
  runs: Number(a.runs),
  threads: a.threads ? Number(a.threads) : undefined,
  device: (a.device === "cuda" ? "cuda" : "cpu") as "cuda" | "cpu",
  memory: !a["no-memory"],
};

if (a.gptq) {
  await gptqRows();
  process.exit(0);
}

const original = join(a.dir!, "llama-12L");
const pruned = join(a.dir!, "llama-12L-minus3");
if (!existsSync(original)) {
  console.error("generating the 12-block model with the oracle ...");
  execFileSync("/usr/bin/python3", [
    a.oracle!,
    "gen-model",
    "--out",
    original,
    "--seed",
    "7",
    "--arch",
    "llama",
    "--layers",
    "12",
    "--hidden",
    "512",
    "--heads",
    "8",
    "--kv-heads",
    "8",
    "--intermediate",
    "1376",
    "--vocab",
    "256",
    "--max-pos",
    "512",
    "--quiet",
  ]);
}
if (!existsSync(pruned)) await pruneCheckpoint({ model: original, remove: [8, 9, 10], out: pruned });
// The paper's comparison: width pruning to the same parameter count keeps every block (and its latency floor).
const width = join(a.dir!, "llama-12L-width75");
if (!existsSync(width)) await widthPrune({ model: original, out: width, keepRatio: 9 / 12 });

const result = await benchmarkGeneration({
  models: [
    { label: "original (12 blocks)", dir: original },
    { label: "pruned (9 blocks)", dir: pruned },
    { label: "width-pruned (same params)", dir: width },
  ],
  ...runSettings,
  onProgress: (m) => process.stderr.write(`${m}\n`),
});

const at1 = result.ratios.find((r) => r.batch === 1 && r.label.startsWith("pruned"));
const verdict = at1
  ? {
      flopRatio: at1.flops,
      // runs alternate between the models, so the per-pair ratio cancels slow changes of machine load
      latencyRatio: at1.latencyPaired,
      inverseThroughputRatio: at1.latencyPaired, // throughput = batch · 128 / latency, run by run
      medianLatencyRatio: at1.latency,
      bestLatencyRatio: at1.latencyBest,
      latencyWithin10: Math.abs(at1.latencyPaired / at1.flops - 1) <= 0.1,
      throughputWithin10: Math.abs(at1.latencyPaired / at1.flops - 1) <= 0.1,
    }
  : null;
const outDir = new URL("./results/", import.meta.url).pathname;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "efficiency.json"), `${JSON.stringify({ ...result, verdict }, null, 2)}\n`);
const md = [
  `Efficiency benchmark (bench/efficiency.ts), ${result.date.slice(0, 10)}, ${result.machine.cpu} (${result.machine.cores} cores), ` +
    `${result.machine.os}, Node ${result.machine.node}, onnxruntime-node ${result.machine.onnxruntime}, ${result.machine.device}; ` +
    `128 in / 128 out, greedy, ${result.settings.warmup} warm-up + ${result.settings.runs} timed runs, alternating models.`,
  "",
  benchmarkTable(result),
  "",
  verdict
    ? `Batch 1: FLOP ratio ${verdict.flopRatio.toFixed(3)}; latency ratio ${verdict.latencyRatio.toFixed(3)} and 1/throughput ratio ` +
      `${verdict.inverseThroughputRatio.toFixed(3)} (median over alternating run pairs): ${verdict.latencyWithin10 ? "within" : "NOT within"} 10% ` +
      `(ratio of medians ${verdict.medianLatencyRatio.toFixed(3)}, of fastest runs ${verdict.bestLatencyRatio.toFixed(3)}).`
    : "Batch 1 was not run.",
].join("\n");
writeFileSync(join(outDir, "efficiency.md"), `${md}\n`);
writeFileSync(join(outDir, "efficiency.svg"), await benchmarkSvg(result));
console.log(md);
process.exit(verdict?.latencyWithin10 && verdict.throughputWithin10 ? 0 : 1);

/** original / pruned / pruned + GPTQ 4-bit on the trained 12-block TinyStories model. */
async function gptqRows(): Promise<void> {
  const root = new URL("../", import.meta.url).pathname;
  const base = join(root, "models/tinystories-llama-12L");
  const cut = join(a.dir!, "tinystories-12L-minus3");
  const q4 = join(a.dir!, "tinystories-12L-minus3-gptq4");
  mkdirSync(a.dir!, { recursive: true });
  if (!existsSync(cut)) await pruneCheckpoint({ model: base, remove: [8, 9, 10], out: cut });
  if (!existsSync(q4)) {
    console.error("quantizing the pruned model (GPTQ 4-bit, per-row groups) ...");
    execFileSync(
      process.execPath,
      [
        "--conditions=development",
        "--import",
        "tsx",
        join(root, "apps/cli/src/main.ts"),
        "quantize",
        "--model",
        cut,
        "--out",
        q4,
        "--bits",
        "4",
        "--group-size",
        "-1",
        "--calib-dataset",
        "tinystories",
        "--n",
        "32",
        "--seq-len",
        "256",
      ],
      { stdio: "inherit" },
    );
  }
  const accuracyLevel = Number(a["accuracy-level"]) as 0 | 1 | 2 | 3 | 4;
  const result = await benchmarkGeneration({
    models: [
      { label: "original (12 blocks)", dir: base },
      { label: "pruned (9 blocks)", dir: cut },
      { label: "pruned + GPTQ 4-bit", dir: q4 },
    ],
    ...runSettings,
    accuracyLevel,
    onProgress: (m) => process.stderr.write(`${m}\n`),
  });
  const stored = (dir: string) => Checkpoint.open(dir).storedBytes() / 2 ** 20;
  const outDir = new URL("./results/", import.meta.url).pathname;
  mkdirSync(outDir, { recursive: true });
  const files = Object.fromEntries([base, cut, q4].map((d) => [d, stored(d)]));
  writeFileSync(
    join(outDir, "efficiency-gptq.json"),
    `${JSON.stringify({ ...result, storedMiB: files }, null, 2)}\n`,
  );
  const md = [
    `Efficiency, original / pruned / pruned + GPTQ 4-bit (bench/efficiency.ts --gptq), ${result.date.slice(0, 16)}Z, ` +
      `${result.machine.cpu} (${result.machine.cores} cores), Node ${result.machine.node}, onnxruntime-node ` +
      `${result.machine.onnxruntime}, ${result.machine.device}, MatMulNBits accuracy_level ${accuracyLevel}; ` +
      `128 in / 128 out, greedy, ${result.settings.warmup} warm-up + ${result.settings.runs} timed runs, alternating models.`,
    "",
    benchmarkTable(result),
    "",
    `Stored weights: ${[base, cut, q4].map((d, i) => `${["original", "pruned", "pruned + 4-bit"][i]} ${files[d]!.toFixed(2)} MiB`).join(", ")}.`,
  ].join("\n");
  writeFileSync(join(outDir, "efficiency-gptq.md"), `${md}\n`);
  console.log(md);
}
