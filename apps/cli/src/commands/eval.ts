// `shortened eval ppl ...`: perplexity with the paper's protocol. `eval` is a command group: other files add
// their evaluations (e.g. `eval zeroshot`) with `evalCommand(program).addCommand(...)`.
import { existsSync, readFileSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import { BOS_POLICIES, type PerplexityResult, perplexity } from "@shortened/engine";
import { SingleBar } from "cli-progress";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { choiceFlag, intFlag, intListFlag } from "./cli-numbers.js";
import {
  accuracyLevelFlag,
  addAccuracyLevelOption,
  addDtypeOption,
  addMemoryBudgetOption,
  addRuntimeOptions,
  deviceFlag,
  dtypeFlag,
  planPrinter,
} from "./runtime-flags.js";

interface EvalPplFlags {
  model: string;
  ids?: string;
  text?: string;
  dataset?: string;
  seqLen?: string;
  bos?: string;
  bosId?: string;
  batchSize?: string;
  skip?: string;
  device?: string;
  dtype?: string;
  threads?: string;
  memoryBudget?: string;
  accuracyLevel?: string;
  json?: boolean;
}

/** The `eval` group, created on first use, so command files can register in any order. */
export function evalCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "eval") ??
    program.command("eval").description("evaluate a checkpoint (perplexity, zero-shot accuracy)")
  );
}

/** {"ids": [..]} as the oracle's TOKENS files. */
export function readIdsFile(path: string): number[] {
  if (!existsSync(path)) throw new UserError("not_found", `ids file ${path} does not exist`);
  let d: unknown;
  try {
    d = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError("invalid_data", `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const ids = (d as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== "number")) {
    throw new UserError("invalid_data", `${path}: expected {"ids": [token ids...]}`);
  }
  return ids as number[];
}

function human(r: PerplexityResult): string {
  const p = r.protocol;
  return [
    `perplexity ${r.ppl.toFixed(4)} on ${p.dataset}${p.split ? ` (${p.split})` : ""}`,
    `${r.tokens} predicted tokens in ${r.nsamples} windows of ${p.seqLen}, BOS ${p.bos}, ${p.dtype} on ${p.device}`,
    `plan: ${r.plan.summary}`,
  ].join("\n");
}

export function evalPplCommand(): Command {
  return addAccuracyLevelOption(
    addMemoryBudgetOption(
      addRuntimeOptions(
        addDtypeOption(new Command("ppl"))
          .description("perplexity over windows of --seq-len tokens (the paper's eval_ppl protocol)")
          .requiredOption("--model <dir>", "model folder")
          .option("--ids <file>", 'token stream {"ids": [..]}')
          .option("--text <file>", "UTF-8 text file, tokenized whole without special tokens")
          .option(
            "--dataset <name>",
            "wikitext2 (WikiText-2 raw test) | ptb (PTB validation) | tinystories (held-out TinyStories validation text)",
          )
          .option("--seq-len <n>", "window length", "128")
          .option("--bos <policy>", "first | every | none", "first")
          .option("--bos-id <id>", "BOS token id (default: the config's bos_token_id)")
          .option("--batch-size <n>", "windows per forward run", "4")
          .option("--skip <list>", "evaluate with these blocks removed (comma-separated)"),
      ),
    ),
  )
    .option("--json", "print one JSON object")
    .action(async (f: EvalPplFlags) => {
      await runCommand(
        f,
        async () => {
          const sources = [f.ids, f.text, f.dataset].filter((x) => x !== undefined).length;
          if (sources !== 1)
            throw new UserError(
              "bad_request",
              "give exactly one of --ids FILE, --text FILE, --dataset wikitext2|ptb|tinystories",
            );
          // A progress bar on an interactive stderr in human mode (stdout stays one result).
          const bar =
            !f.json && process.stderr.isTTY
              ? new SingleBar({
                  format: "perplexity [{bar}] {value}/{total} windows | {eta}s left",
                  stream: process.stderr,
                })
              : null;
          try {
            return await perplexity({
              model: f.model,
              ids: f.ids !== undefined ? readIdsFile(f.ids) : undefined,
              textFile: f.text,
              dataset: f.dataset,
              seqLen: intFlag("--seq-len", f.seqLen),
              bos: choiceFlag("--bos", f.bos, BOS_POLICIES),
              bosId: intFlag("--bos-id", f.bosId),
              batchSize: intFlag("--batch-size", f.batchSize),
              skip: intListFlag("--skip", f.skip),
              device: deviceFlag(f.device),
              dtype: dtypeFlag(f.dtype),
              threads: intFlag("--threads", f.threads),
              accuracyLevel: accuracyLevelFlag(f.accuracyLevel),
              memoryBudget: f.memoryBudget,
              onPlan: planPrinter(f.json),
              onProgress: ({ done, total }) => {
                if (!bar) return;
                if (bar.getTotal() !== total) bar.start(total, 0);
                bar.update(done);
              },
            });
          } finally {
            bar?.stop();
          }
        },
        human,
      );
    });
}

export function register(program: Command): void {
  evalCommand(program).addCommand(evalPplCommand());
}
