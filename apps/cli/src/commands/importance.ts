// `shortened importance --model DIR --criterion ppl|magnitude|bi|angular|taylor|sleb (--calib-ids FILE | --calib-text FILE)`:
// per-block scores, the removal order and the "+" order, computed by the importance job's handler on the
// folder. The calibration flags are shared with `prune --criterion`.
import { readFileSync } from "node:fs";
import { Criterion, UserError } from "@shortened/contracts";
import { type BlockImportanceResult, readBatchFile } from "@shortened/engine";
import type { FolderRun } from "@shortened/jobs";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { choiceFlag, intFlag } from "./cli-numbers.js";
import { withFolderRun } from "./folder-job.js";
import {
  addDtypeOption,
  addMemoryBudgetOption,
  addRuntimeOptions,
  deviceFlag,
  dtypeFlag,
} from "./runtime-flags.js";

export interface ImportanceFlags {
  model: string;
  criterion?: string;
  calibIds?: string;
  calibText?: string;
  n?: string;
  seqLen?: string;
  seed?: string;
  calibBos?: string;
  group?: string;
  token?: string;
  batchSize?: string;
  keepFirst?: string;
  keepLast?: string;
  device?: string;
  dtype?: string;
  threads?: string;
  memoryBudget?: string;
  json?: boolean;
}

/** Adds the calibration and criterion-tuning flags (used by `importance` and `prune --criterion`). */
export function addImportanceFlags(cmd: Command): Command {
  return addMemoryBudgetOption(
    addDtypeOption(
      addRuntimeOptions(
        cmd
          .option("--calib-ids <file>", 'calibration rows {"batch": [[..], ..]} of equal length')
          .option(
            "--calib-text <file>",
            "text to draw calibration windows from (the oracle's gen-calib rule)",
          )
          .option("--n <count>", "calibration windows drawn from --calib-text", "10")
          .option("--seq-len <n>", "calibration window length (128 for --calib-text; rows are cut to it)")
          .option("--seed <n>", "seed of the window draw (mulberry32)", "1234")
          .option(
            "--calib-bos <policy>",
            "none | every (row = [BOS] + window[:-1], as --add_bos_to_every)",
            "none",
          )
          .option(
            "--group <n>",
            "bi/angular: compare h_l with h_{l+n}; angular scores groups of n blocks",
            "1",
          )
          .option("--token <which>", "bi/angular: all | last tokens (default bi: all, angular: last)")
          .option("--batch-size <n>", "calibration rows per forward run", "10")
          .option("--keep-first <n>", '"+" order: never remove the first n blocks', "4")
          .option("--keep-last <n>", '"+" order: never remove the last n blocks', "2"),
      ),
    ),
  );
}

/** The importance fields of a job spec (importance, prune) from the flags; calibration files go in the run's store. */
export async function importanceSpecFields(f: ImportanceFlags, run: FolderRun) {
  if (f.calibIds !== undefined && f.calibText !== undefined)
    throw new UserError("bad_request", "give one calibration source: --calib-ids or --calib-text, not both");
  const seqLen = intFlag("--seq-len", f.seqLen);
  let calibration: Record<string, unknown> = {};
  if (f.calibIds !== undefined) {
    const ids = readBatchFile(f.calibIds) as number[][];
    // Rows are used whole unless --seq-len cuts them.
    const rowLen = Array.isArray(ids[0]) ? ids[0].length : undefined;
    calibration = { ids, seqLen: seqLen ?? rowLen };
  } else if (f.calibText !== undefined) {
    calibration = {
      artifact: await run.addInput(f.calibText, "calibration text"),
      format: "text",
      n: intFlag("--n", f.n),
      seqLen,
      seed: intFlag("--seed", f.seed),
      bos: choiceFlag("--calib-bos", f.calibBos, ["none", "every"] as const),
    };
  }
  return {
    criterion: criterionFlag(f.criterion),
    calibration,
    group: intFlag("--group", f.group),
    token: choiceFlag("--token", f.token, ["all", "last"] as const),
    batchSize: intFlag("--batch-size", f.batchSize),
    keepFirst: intFlag("--keep-first", f.keepFirst),
    keepLast: intFlag("--keep-last", f.keepLast),
    device: deviceFlag(f.device),
    dtype: dtypeFlag(f.dtype),
    threads: intFlag("--threads", f.threads),
    memoryBudget: f.memoryBudget,
  };
}

function criterionFlag(c: string | undefined) {
  const known = Criterion.options as readonly string[];
  if (c !== undefined && !known.includes(c))
    throw new UserError("bad_request", `unknown criterion ${JSON.stringify(c)} (known: ${known.join(", ")})`);
  return c as (typeof Criterion.options)[number] | undefined;
}

/** The importance job's handler on the folder; its numbers are those of importance.json. */
export function runImportance(f: ImportanceFlags & { criterion: string }): Promise<BlockImportanceResult> {
  return withFolderRun({ model: f.model, json: f.json }, async (run) => {
    const r = await run.run("importance", await importanceSpecFields(f, run));
    const file = r.artifacts.find((a) => a.name === "importance.json")!;
    return { model: f.model, ...JSON.parse(readFileSync(file.path, "utf8")) };
  });
}

function human(r: BlockImportanceResult): string {
  return [
    `${r.criterion} importance of ${r.numLayers} blocks (lower = removed first)`,
    ...r.scores.map((s, i) => `  block ${String(i).padStart(3)}  ${s.toPrecision(6)}`),
    `order:  ${r.order.join(", ")}`,
    `order+: ${r.orderPlus.join(", ")} (keeps the first ${r.keepFirst} and last ${r.keepLast} blocks)`,
    ...(r.removeBest ? [`best group of ${r.group} to remove: ${r.removeBest.join(", ")}`] : []),
    ...(r.plan ? [`plan: ${r.plan.summary}`] : []),
  ].join("\n");
}

export function importanceCommand(): Command {
  const cmd = new Command("importance")
    .description("score every block by a criterion and give the removal order")
    .requiredOption("--model <dir>", "model folder")
    .requiredOption("--criterion <c>", Criterion.options.join(" | "));
  return addImportanceFlags(cmd)
    .option("--json", "print one JSON object")
    .action(async (f: ImportanceFlags & { criterion: string }) => {
      await runCommand(f, () => runImportance(f), human);
    });
}

export function register(program: Command): void {
  program.addCommand(importanceCommand());
}
