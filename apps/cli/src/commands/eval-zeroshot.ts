// `shortened eval zeroshot --model DIR [--tasks arc_easy,...] [--limit N] [--json]`: the paper's seven
// zero-shot tasks, scored as lm-evaluation-harness 3326c54 does (see README "Zero-shot protocol").
// Run by the evaluate job's zeroshot task on the folder. Registered as a subcommand of the `eval` group (./eval.ts).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError, zeroShotBosPolicies, zeroShotTaskNames } from "@shortened/contracts";
import type { ZeroShotResult } from "@shortened/engine";
import { missingTaskLine, parseTaskNames, TASKS, tasksWithData, type ZeroShotTaskName } from "@shortened/hf";
import { zeroShotDataDir } from "@shortened/jobs";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { choiceFlag, intFlag } from "./cli-numbers.js";
import { evalCommand } from "./eval.js";
import { withFolderRun } from "./folder-job.js";
import {
  accuracyLevelFlag,
  addAccuracyLevelOption,
  addDtypeOption,
  deviceFlag,
  dtypeFlag,
  memoryBudgetOption,
} from "./runtime-flags.js";

/** zeroshot.json of the evaluate job's zeroshot task. */
interface ZeroShotFile extends Omit<ZeroShotResult, "tasks"> {
  tasks: Record<string, ZeroShotResult["tasks"][ZeroShotTaskName] & { files: { file: string }[] }>;
}

interface Options {
  model: string;
  tasks?: string;
  limit?: string;
  data?: string;
  taskFile: string[];
  device?: string;
  dtype?: string;
  threads?: string;
  memoryBudget?: string;
  accuracyLevel?: string;
  items?: boolean;
  strategy?: string;
  bos?: string;
  json?: boolean;
}

function parseTaskFiles(list: string[]): Partial<Record<ZeroShotTaskName, string>> {
  const out: Partial<Record<ZeroShotTaskName, string>> = {};
  for (const entry of list) {
    const m = /^([a-z_]+)=(.+)$/.exec(entry);
    if (!m) throw new UserError("bad_request", `--task-file must be TASK=PATH (got "${entry}")`);
    const [name] = parseTaskNames(m[1]!);
    out[name!] = m[2]!;
  }
  return out;
}

const pct = (v: number | null) => (v === null ? "    -" : (100 * v).toFixed(2).padStart(6));

function human(r: Omit<ZeroShotResult, "items">): string {
  const lines = ["task            metric    value     acc  acc_norm      n"];
  for (const [name, t] of Object.entries(r.tasks)) {
    lines.push(
      `${name.padEnd(15)} ${t!.metric.padEnd(8)} ${pct(t!.value)}  ${pct(t!.acc)}    ${pct(t!.acc_norm)}  ${String(t!.n).padStart(5)}`,
    );
  }
  lines.push(`${"average".padEnd(15)} ${"".padEnd(8)} ${pct(r.average)}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push(
    `protocol: ${r.protocol.harness}, bos ${r.protocol.bos}, zero-shot, max_length ${r.protocol.max_length}, ${r.protocol.dtype}`,
  );
  return lines.join("\n");
}

export function zeroshotCommand(): Command {
  return addAccuracyLevelOption(addDtypeOption(new Command("zeroshot")))
    .description(
      "zero-shot accuracy on BoolQ, PIQA, HellaSwag, WinoGrande, ARC-e, ARC-c, OpenBookQA (lm-eval 3326c54)",
    )
    .requiredOption("--model <dir>", "model folder (config.json, safetensors, tokenizer.json)")
    .option(
      "--tasks <list>",
      `comma-separated tasks of ${zeroShotTaskNames.join(",")} (default: every one whose data is in --data, the others named in notes)`,
    )
    .option("--limit <n>", "score only the first N documents of each task file")
    .option("--data <dir>", "folder with the task files (default: the shipped data/zeroshot)")
    .option(
      "--task-file <task=path>",
      "file for one task, overriding --data (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option("--device <device>", "cpu or cuda (default cpu)")
    .option("--threads <n>", "ONNX Runtime intra-op threads")
    .addOption(memoryBudgetOption())

    .option("--items", "include every document's loglikelihoods and predictions")
    .option(
      "--strategy <s>",
      "shared-context (each context once, through the KV cache; the default) | rows (every request in full)",
    )
    .option(
      "--bos <policy>",
      "none (the pinned harness 3326c54; the default) | tokenizer (lm-evaluation-harness 0.4.x: a BOS where the tokenizer adds one)",
    )
    .option("--json", "print one JSON object")
    .action(async (opts: Options) => {
      await runCommand(opts, () => evalZeroShot(opts), human);
    });
}

/** A task's file in --data DIR: the first of its known names there (as the engine looks for it). */
function fileInDir(task: ZeroShotTaskName, dir: string): string {
  const names = TASKS[task].files;
  const found = names.map((f) => join(dir, f)).find((p) => existsSync(p));
  if (!found)
    throw new UserError(
      "not_found",
      `no data for task ${task}: expected ${names.join(" or ")} in ${dir}`,
      404,
    );
  return found;
}

/** The evaluate job's zeroshot task on the folder; --data / --task-file files go in the run's store. */
async function evalZeroShot(opts: Options) {
  const given = parseTaskFiles(opts.taskFile);
  const dataDir = opts.data ?? zeroShotDataDir();
  // No --tasks: the tasks whose data is in --data (a task given a --task-file counts as present).
  const { present, missing } =
    opts.tasks === undefined
      ? tasksWithData(
          dataDir,
          zeroShotTaskNames.filter((t) => !given[t]),
        )
      : { present: parseTaskNames(opts.tasks), missing: [] as ZeroShotTaskName[] };
  const tasks =
    opts.tasks === undefined ? zeroShotTaskNames.filter((t) => present.includes(t) || given[t]) : present;
  if (!tasks.length) throw new UserError("not_found", `no zero-shot task has its data in ${dataDir}`, 404);
  const bos = choiceFlag("--bos", opts.bos, zeroShotBosPolicies);
  const strategy = choiceFlag("--strategy", opts.strategy, ["shared-context", "rows"] as const);
  const files: Partial<Record<ZeroShotTaskName, string>> = {};
  for (const t of tasks) {
    const f = given[t] ?? (opts.data !== undefined ? fileInDir(t, opts.data) : undefined);
    if (f !== undefined) files[t] = f;
  }
  return withFolderRun({ model: opts.model, json: opts.json }, async (run) => {
    const taskFiles: Partial<Record<ZeroShotTaskName, string>> = {};
    for (const [t, f] of Object.entries(files) as [ZeroShotTaskName, string][]) {
      const key = await run.addInput(f, `task file for ${t}`);
      taskFiles[t] = key;
      const labels = f.replace(/\.jsonl$/, "-labels.lst");
      if (labels !== f && existsSync(labels)) await run.addInput(labels, "labels file", key);
    }
    const r = await run.run("evaluate", {
      task: "zeroshot",
      tasks,
      limit: intFlag("--limit", opts.limit),
      strategy,
      bos,
      taskFiles,
      device: deviceFlag(opts.device),
      dtype: dtypeFlag(opts.dtype),
      threads: intFlag("--threads", opts.threads),
      memoryBudget: opts.memoryBudget,
      accuracyLevel: accuracyLevelFlag(opts.accuracyLevel),
    });
    const file = r.artifacts.find((a) => a.name === "zeroshot.json")!;
    const out = JSON.parse(readFileSync(file.path, "utf8")) as ZeroShotFile;
    const shipped = zeroShotDataDir();
    const table = Object.fromEntries(
      Object.entries(out.tasks).map(([name, { files: read, ...t }]) => [
        name,
        { ...t, file: files[name as ZeroShotTaskName] ?? join(shipped, read[0]!.file) },
      ]),
    );
    const summary = {
      tasks: table,
      average: out.average,
      missingTasks: missing,
      notes: [
        ...out.notes,
        ...missing.map((t) => `${missingTaskLine(t)}: not run, its data is not in ${dataDir}`),
      ],
      protocol: out.protocol,
      plan: out.plan,
    };
    return opts.items ? { ...summary, items: out.items } : summary;
  });
}

export function register(program: Command): void {
  evalCommand(program).addCommand(zeroshotCommand());
}
