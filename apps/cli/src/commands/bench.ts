// `shortened bench --model DIR [--baseline DIR] [--json] [--plot FILE.svg]`: the paper's efficiency
// benchmark, original (baseline) and pruned model side by side. See README "Efficiency benchmark".
import { existsSync, writeFileSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import { type BenchmarkResult, benchmarkGeneration } from "@shortened/engine";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { benchmarkSvg } from "./bench-plot.js";
import { intFlag, intListFlag } from "./cli-numbers.js";
import {
  addDtypeOption,
  addMemoryBudgetOption,
  addRuntimeOptions,
  deviceFlag,
  dtypeFlag,
} from "./runtime-flags.js";

interface Flags {
  model: string;
  baseline?: string;
  batchSizes: string;
  inputLen: string;
  outputLen: string;
  warmup: string;
  runs: string;
  memory: boolean;
  plot?: string;
  device?: string;
  dtype?: string;
  threads?: string;
  seed: string;
  memoryBudget?: string;
  json?: boolean;
}

type BenchCliResult = BenchmarkResult & { plot: string | null };

const fmt = (v: number, d = 3) => v.toFixed(d);

export function benchmarkTable(r: BenchmarkResult): string {
  const lines = [
    "| model | blocks | batch | latency s (median [min, max]) | output tokens/s (median) | RSS while generating MiB (peak incl. build) | weights + KV cache MiB | GFLOPs |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
  ];
  for (const row of r.rows) {
    const l = row.latencyS;
    lines.push(
      `| ${row.label} | ${row.numHiddenLayers} | ${row.batch} | ${fmt(l.median)} [${fmt(l.min)}, ${fmt(l.max)}] | ${fmt(row.tokensPerSecond.median, 1)} | ${row.memory ? `${fmt(row.memory.generationMb, 0)} (${fmt(row.memory.peakMb, 0)})` : "-"} | ${fmt(row.weightsMb + row.kvCacheMb, 1)} | ${fmt(row.flops / 1e9, 2)} |`,
    );
  }
  for (const label of new Set(r.rows.map((row) => row.label))) {
    const row = r.rows.find((x) => x.label === label)!;
    lines.push("", `${label}: ${row.plan}`);
  }
  for (const q of r.ratios) {
    lines.push(
      "",
      `${q.label} / ${r.rows[0]!.label} at batch ${q.batch}: FLOPs ×${fmt(q.flops)}; latency ×${fmt(q.latency)} (medians), ` +
        `×${fmt(q.latencyBest)} (fastest runs), ×${fmt(q.latencyPaired)} (median of alternating pairs); throughput ×${fmt(q.throughput)}`,
    );
  }
  return lines.join("\n");
}

async function bench(f: Flags): Promise<BenchCliResult> {
  const batchSizes = intListFlag("--batch-sizes", f.batchSizes)!;
  const settings = {
    batchSizes,
    inputLen: intFlag("--input-len", f.inputLen)!,
    outputLen: intFlag("--output-len", f.outputLen)!,
    warmup: intFlag("--warmup", f.warmup)!,
    runs: intFlag("--runs", f.runs)!,
    seed: intFlag("--seed", f.seed)!,
    threads: intFlag("--threads", f.threads),
    device: deviceFlag(f.device),
    dtype: dtypeFlag(f.dtype),
    memory: f.memory,
    memoryBudget: f.memoryBudget,
  };
  for (const dir of [f.model, f.baseline]) {
    if (dir !== undefined && !existsSync(dir))
      throw new UserError("not_found", `model folder not found: ${dir}`, 404);
  }
  const models = [
    ...(f.baseline ? [{ label: "baseline", dir: f.baseline }] : []),
    { label: f.baseline ? "pruned" : "model", dir: f.model },
  ];
  const result = await benchmarkGeneration({
    models,
    ...settings,
    onProgress: (m) => {
      if (!f.json && process.stderr.isTTY) process.stderr.write(`\r${m}    `);
    },
  });
  let plot: string | null = null;
  if (f.plot) {
    writeFileSync(f.plot, await benchmarkSvg(result));
    plot = f.plot;
  }
  return { ...result, plot };
}

export function benchCommand(): Command {
  return addMemoryBudgetOption(
    addRuntimeOptions(
      addDtypeOption(new Command("bench"))
        .description(
          "generation latency, throughput and peak memory per batch size (original vs pruned side by side)",
        )
        .requiredOption("--model <dir>", "model folder (the pruned model when --baseline is given)")
        .option("--baseline <dir>", "the original model, benchmarked alongside")
        .option("--batch-sizes <list>", "batch sizes", "1,4,16,64")
        .option("--input-len <n>", "prompt tokens", "128")
        .option("--output-len <n>", "generated tokens (forced; EOS ignored)", "128")
        .option("--warmup <n>", "untimed runs per model and batch size", "2")
        .option("--runs <n>", "timed runs per model and batch size", "5")
        .option("--no-memory", "skip the peak-memory probe (one child process per model and batch size)")
        .option("--plot <file.svg>", "write the latency/throughput figure as SVG"),
    ),
  )
    .option("--seed <n>", "seed of the random prompts", "1234")
    .option("--json", "print one JSON object")
    .action(async (f: Flags) => {
      await runCommand(
        f,
        () => bench(f),
        (r) => `${benchmarkTable(r)}${r.plot ? `\nplot: ${r.plot}` : ""}`,
      );
    });
}

export function register(program: Command): void {
  program.addCommand(benchCommand());
}
