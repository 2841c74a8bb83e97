// `shortened quantize --model DIR --out DIR [...]`: GPTQ (or RTN) post-training quantization into a GPTQ checkpoint
// (classic layout), run by the quantize job's handler on the folder; the report (per-layer loss, damping
// retries, time, bytes before and after) is written beside the checkpoint as quantize-report.json.
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import { readBatchFile } from "@shortened/engine";
import { checkOutputTarget } from "@shortened/hf";
import { publishFolder } from "@shortened/jobs";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { choiceFlag, intFlag, numberFlag } from "./cli-numbers.js";
import { withFolderRun } from "./folder-job.js";
import { addMemoryBudgetOption, addRuntimeOptions, deviceFlag } from "./runtime-flags.js";

interface QuantizeFlags {
  model: string;
  out: string;
  method?: string;
  bits?: string;
  groupSize?: string;
  actOrder: boolean;
  staticGroups?: boolean;
  sym: boolean;
  trueSequential: boolean;
  damp?: string;
  dampRetries?: string;
  checkpointFormat?: string;
  calibIds?: string;
  calibText?: string;
  calibDataset?: string;
  n?: string;
  seqLen?: string;
  seed?: string;
  batchSize?: string;
  device?: string;
  threads?: string;
  memoryBudget?: string;
  force?: boolean;
  json?: boolean;
}

interface QuantizeCliResult {
  out: string;
  method: string;
  bits: number;
  groupSize: number;
  layers: number;
  totalLoss: number;
  dampRetries: number;
  seconds: number;
  bytesBefore: number;
  bytesAfter: number;
  plan: string;
  report: string;
}

async function quantize(f: QuantizeFlags): Promise<QuantizeCliResult> {
  const sources = [f.calibIds, f.calibText, f.calibDataset].filter((x) => x !== undefined).length;
  if (sources > 1)
    throw new UserError(
      "bad_request",
      "give one calibration source: --calib-ids, --calib-text or --calib-dataset",
    );
  const bits = intFlag("--bits", f.bits);
  if (bits !== undefined && ![2, 3, 4, 8].includes(bits))
    throw new UserError("bad_request", `--bits must be 2, 3, 4 or 8 (got "${f.bits}")`);
  const out = checkOutputTarget(f.out, f.force ?? false, [f.model]);
  return withFolderRun({ model: f.model, near: out, json: f.json }, async (run) => {
    // Only the flags given: the job's schema and quantizeCalibration decide the rest, as for a submitted job.
    const calibration: Record<string, unknown> = {
      n: intFlag("--n", f.n),
      seqLen: intFlag("--seq-len", f.seqLen),
      seed: intFlag("--seed", f.seed),
    };
    if (f.calibIds !== undefined) calibration.ids = readBatchFile(f.calibIds);
    else if (f.calibText !== undefined) {
      calibration.artifact = await run.addInput(f.calibText, "calibration text");
      calibration.format = "text";
    } else if (f.calibDataset !== undefined)
      calibration.dataset = choiceFlag("--calib-dataset", f.calibDataset, [
        "wikitext2",
        "ptb",
        "tinystories",
      ] as const);
    const r = await run.run("quantize", {
      method: choiceFlag("--method", f.method, ["gptq", "rtn"] as const),
      bits: bits as 2 | 3 | 4 | 8 | undefined,
      groupSize: intFlag("--group-size", f.groupSize),
      actOrder: f.actOrder,
      staticGroups: f.staticGroups ?? false,
      sym: f.sym,
      trueSequential: f.trueSequential,
      damp: numberFlag("--damp", f.damp),
      dampRetries: intFlag("--damp-retries", f.dampRetries),
      checkpointFormat: choiceFlag("--checkpoint-format", f.checkpointFormat, ["gptq", "gptq_v2"] as const),
      calibration,
      batchSize: intFlag("--batch-size", f.batchSize),
      device: deviceFlag(f.device),
      threads: intFlag("--threads", f.threads),
      memoryBudget: f.memoryBudget,
    });
    const dir = r.version!.dir;
    const report = r.artifacts.find((a) => a.name === "quantize-report.json")!;
    copyFileSync(report.path, join(dir, "quantize-report.json"));
    await publishFolder(dir, out);
    const s = r.summary as Omit<QuantizeCliResult, "out" | "report">;
    const full = JSON.parse(readFileSync(join(out, "quantize-report.json"), "utf8")) as { method: string };
    return { out, ...s, method: full.method, report: join(out, "quantize-report.json") };
  });
}

function human(r: QuantizeCliResult): string {
  const mb = (b: number) => (b / 2 ** 20).toFixed(2);
  return [
    `${r.method} ${r.bits}-bit (group ${r.groupSize}): ${r.layers} linears in ${r.seconds.toFixed(1)} s, total loss ${r.totalLoss.toPrecision(6)}${r.dampRetries ? `, ${r.dampRetries} damping retries` : ""}`,
    `weights ${mb(r.bytesBefore)} MiB → ${mb(r.bytesAfter)} MiB; wrote ${r.out} (report: ${r.report})`,
    `plan: ${r.plan}`,
  ].join("\n");
}

export function quantizeCommand(): Command {
  return addMemoryBudgetOption(
    addRuntimeOptions(
      new Command("quantize")
        .description(
          "GPTQ or RTN weight quantization of the block linears into a GPTQ checkpoint (AutoGPTQ layout)",
        )
        .requiredOption("--model <dir>", "float model folder")
        .requiredOption("--out <dir>", "output folder for the GPTQ checkpoint")
        .option("--method <m>", "gptq | rtn", "gptq")
        .option("--bits <n>", "2 | 3 | 4 | 8", "4")
        .option(
          "--group-size <n>",
          "input columns per group of scales and zeros; -1: one group per row",
          "128",
        )
        .option("--no-act-order", "quantize columns in their order (default: descending Hessian diagonal)")
        .option("--static-groups", "groups of consecutive original columns, fixed before the loop")
        .option("--no-sym", "asymmetric zero points (use --checkpoint-format gptq_v2)")
        .option("--no-true-sequential", "every Hessian of a block from the unquantized block")
        .option("--damp <d>", "damp_percent: damping = d · mean(diag H)", "0.01")
        .option("--damp-retries <n>", "retries of a failed factorization, +0.0015 damp each", "10")
        .option("--checkpoint-format <f>", "gptq (v1 zeros, zero − 1) | gptq_v2", "gptq")
        .option("--calib-ids <file>", 'calibration rows {"batch": [[..], ..]} of equal length')
        .option("--calib-text <file>", "text to draw calibration windows from (the oracle's gen-calib rule)")
        .option("--calib-dataset <name>", "wikitext2 | ptb | tinystories (default wikitext2)")
        .option(
          "--n <count>",
          "calibration rows (default 128, the paper's; with --calib-ids: the rows given)",
        )
        .option(
          "--seq-len <n>",
          "calibration row length (default 2048, the paper's; with --calib-ids: the rows')",
        )
        .option("--seed <n>", "seed of the window draw (mulberry32)", "1234")
        .option("--batch-size <n>", "calibration rows per forward run", "8")
        .option("--force", "replace an existing --out"),
    ),
  )
    .option("--json", "print one JSON object")
    .action(async (f: QuantizeFlags) => {
      await runCommand(f, () => quantize(f), human);
    });
}

export function register(program: Command): void {
  program.addCommand(quantizeCommand());
}
