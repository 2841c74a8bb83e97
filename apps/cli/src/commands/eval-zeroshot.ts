// `shortened eval zeroshot --model DIR [--tasks arc_easy,...] [--limit N] [--json]`: the paper's seven
// zero-shot tasks, scored as lm-evaluation-harness 3326c54 does (see README "Zero-shot protocol").
// Registered as a subcommand of the `eval` group (./eval.ts).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UserError, zeroShotBosPolicies, zeroShotTaskNames } from "@shortened/contracts";
import { type ZeroShotResult, zeroShot } from "@shortened/engine";
import { missingTaskLine, parseTaskNames, tasksWithData, type ZeroShotTaskName } from "@shortened/hf";
import { SingleBar } from "cli-progress";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { evalCommand } from "./eval.js";
import { addDtypeOption, dtypeFlag, memoryBudgetOption, planPrinter } from "./runtime-flags.js";

/** The task files shipped with the repository (data/zeroshot). */
export const DEFAULT_ZEROSHOT_DATA = fileURLToPath(new URL("../../../../data/zeroshot", import.meta.url));

interface Options {
  model: string;
  tasks?: string;
  limit?: string;
  data: string;
  taskFile: string[];
  device: string;
  dtype?: string;
  threads?: string;
  memoryBudget?: string;
  items?: boolean;
  strategy: string;
  bos: string;
  json?: boolean;
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) <= 0)
    throw new UserError("bad_request", `${flag} must be a positive integer (got "${text}")`);
  return Number(text);
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
  return addDtypeOption(new Command("zeroshot"))
    .description(
      "zero-shot accuracy on BoolQ, PIQA, HellaSwag, WinoGrande, ARC-e, ARC-c, OpenBookQA (lm-eval 3326c54)",
    )
    .requiredOption("--model <dir>", "model folder (config.json, safetensors, tokenizer.json)")
    .option(
      "--tasks <list>",
      `comma-separated tasks of ${zeroShotTaskNames.join(",")} (default: every one whose data is in --data, the others named in notes)`,
    )
    .option("--limit <n>", "score only the first N documents of each task file")
    .option("--data <dir>", "folder with the task files", DEFAULT_ZEROSHOT_DATA)
    .option(
      "--task-file <task=path>",
      "file for one task, overriding --data (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option("--device <device>", "cpu or cuda", "cpu")
    .option("--threads <n>", "ONNX Runtime intra-op threads")
    .addOption(memoryBudgetOption())

    .option("--items", "include every document's loglikelihoods and predictions")
    .option(
      "--strategy <s>",
      "shared-context (each context once, through the KV cache) | rows (every request in full)",
      "shared-context",
    )
    .option(
      "--bos <policy>",
      "none (the pinned harness 3326c54) | tokenizer (lm-evaluation-harness 0.4.x: a BOS where the tokenizer adds one)",
      "none",
    )
    .option("--json", "print one JSON object")
    .action(async (opts: Options) => {
      await runCommand(
        opts,
        async () => {
          const taskFiles = parseTaskFiles(opts.taskFile);
          // No --tasks: the tasks whose data is here (a task given a --task-file counts as present).
          const { present, missing } =
            opts.tasks === undefined
              ? tasksWithData(
                  opts.data,
                  zeroShotTaskNames.filter((t) => !taskFiles[t]),
                )
              : { present: parseTaskNames(opts.tasks), missing: [] as ZeroShotTaskName[] };
          const tasks =
            opts.tasks === undefined
              ? zeroShotTaskNames.filter((t) => present.includes(t) || taskFiles[t])
              : present;
          if (!tasks.length)
            throw new UserError("not_found", `no zero-shot task has its data in ${opts.data}`, 404);
          const limit = positiveInt(opts.limit, "--limit");
          const threads = positiveInt(opts.threads, "--threads");
          if (opts.device !== "cpu" && opts.device !== "cuda")
            throw new UserError("bad_request", `--device must be cpu or cuda (got "${opts.device}")`);
          if (opts.strategy !== "shared-context" && opts.strategy !== "rows")
            throw new UserError(
              "bad_request",
              `--strategy must be shared-context or rows (got "${opts.strategy}")`,
            );
          const bos = zeroShotBosPolicies.find((p) => p === opts.bos);
          if (!bos) throw new UserError("bad_request", `--bos must be none or tokenizer (got "${opts.bos}")`);
          if (!existsSync(opts.model))
            throw new UserError("not_found", `model folder not found: ${opts.model}`, 404);
          let bar: SingleBar | null = null;
          try {
            const result = await zeroShot({
              model: opts.model,
              tasks,
              dataDir: opts.data,
              taskFiles,
              limit,
              device: opts.device,
              dtype: dtypeFlag(opts.dtype),
              threads,
              memoryBudget: opts.memoryBudget,
              onPlan: planPrinter(opts.json),
              strategy: opts.strategy,
              bos,
              onProgress: (done, total) => {
                if (opts.json || !process.stderr.isTTY) return;
                if (!bar) {
                  bar = new SingleBar({
                    format: "scoring [{bar}] {value}/{total} requests | {eta}s left",
                    stream: process.stderr,
                  });
                  bar.start(total, 0);
                }
                bar.update(done);
              },
            });
            const { items, ...rest } = result;
            const notes = [
              ...rest.notes,
              ...missing.map((t) => `${missingTaskLine(t)}: not run, its data is not in ${opts.data}`),
            ];
            const summary = { ...rest, missingTasks: missing, notes };
            return opts.items ? { ...summary, items } : summary;
          } finally {
            (bar as SingleBar | null)?.stop();
          }
        },
        human,
      );
    });
}

export function register(program: Command): void {
  evalCommand(program).addCommand(zeroshotCommand());
}
