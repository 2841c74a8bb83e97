// `shortened bench --model DIR [--baseline DIR] [--json] [--plot FILE.svg]`: the paper's efficiency
// benchmark, original (baseline) and pruned model side by side, by the benchmark job's handler on the folders. See README "Efficiency benchmark".
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import type { BenchmarkResult } from "@shortened/engine";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { benchmarkSvg } from "./bench-plot.js";
import { intFlag, intListFlag } from "./cli-numbers.js";
import { withFolderRun } from "./folder-job.js";
import {
  accuracyLevelFlag,
  addAccuracyLevelOption,
  addDtypeOption,
  addMemoryBudgetOption,
  addRuntimeOptions,
  deviceFlag,
  dtypeFlag,
} from "./runtime-flags.js";

interface Flags {
  model: string;
  baseline?: string;
  batchSizes?: string;
  inputLen?: string;
  outputLen?: string;
  warmup?: string;
  runs?: string;
  memory?: boolean;
  plot?: string;
  device?: string;
  dtype?: string;
  memoryBudget?: string;
  accuracyLevel?: string;
  threads?: string;
  seed?: string;
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
  const versions = f.baseline === undefined ? undefined : { baseline: f.baseline };
  if (f.baseline !== undefined && !existsSync(f.baseline))
    throw new UserError("not_found", `model folder not found: ${f.baseline}`, 404);
  const result = await withFolderRun({ model: f.model, json: f.json, versions }, async (run) => {
    const r = await run.run("benchmark", {
      baseline: f.baseline === undefined ? undefined : "baseline",
      batchSizes: intListFlag("--batch-sizes", f.batchSizes),
      promptTokens: intFlag("--input-len", f.inputLen),
      genTokens: intFlag("--output-len", f.outputLen),
      warmup: intFlag("--warmup", f.warmup),
      repeats: intFlag("--runs", f.runs),
      seed: intFlag("--seed", f.seed),
      memory: f.memory,
      threads: intFlag("--threads", f.threads),
      device: deviceFlag(f.device),
      dtype: dtypeFlag(f.dtype),
      memoryBudget: f.memoryBudget,
      accuracyLevel: accuracyLevelFlag(f.accuracyLevel),
    });
    const file = r.artifacts.find((a) => a.name === "benchmark.json")!;
    return JSON.parse(readFileSync(file.path, "utf8")) as BenchmarkResult;
  });
  // The job labels rows by version; here they are the roles the flags gave.
  const role = new Map(
    result.rows.map((row, i) => [row.label, f.baseline ? (i % 2 === 0 ? "baseline" : "pruned") : "model"]),
  );
  const relabelled: BenchmarkResult = {
    ...result,
    rows: result.rows.map((row) => ({ ...row, label: role.get(row.label) ?? row.label })),
    ratios: result.ratios.map((q) => ({ ...q, label: role.get(q.label) ?? q.label })),
  };
  let plot: string | null = null;
  if (f.plot) {
    writeFileSync(f.plot, await benchmarkSvg(relabelled));
    plot = f.plot;
  }
  return { ...relabelled, plot };
}

export function benchCommand(): Command {
  return addMemoryBudgetOption(
    addRuntimeOptions(
      addAccuracyLevelOption(addDtypeOption(new Command("bench")))
        .description(
          "generation latency, throughput and peak memory per batch size (original vs pruned side by side)",
        )
        .requiredOption("--model <dir>", "model folder (the pruned model when --baseline is given)")
        .option("--baseline <dir>", "the original model, benchmarked alongside")
        .option("--batch-sizes <list>", "batch sizes (default 1,4,16,64)")
        .option("--input-len <n>", "prompt tokens (default 128)")
        .option("--output-len <n>", "generated tokens (forced; EOS ignored; default 128)")
        .option("--warmup <n>", "untimed runs per model and batch size (default 2)")
        .option("--runs <n>", "timed runs per model and batch size (default 5)")
        .option("--memory", "measure peak memory (one child process per model and batch size)")
        .option("--no-memory", "skip the peak-memory probe (the default)")
        .option("--plot <file.svg>", "write the latency/throughput figure as SVG"),
    ),
  )
    .option("--seed <n>", "seed of the random prompts (default 1234)")
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
