// `shortened eval ppl ...`: perplexity with the paper's protocol, by the evaluate job's handler on the folder. `eval` is a command group: other files add
// their evaluations (e.g. `eval zeroshot`) with `evalCommand(program).addCommand(...)`.
import { EvalDataset, UserError } from "@shortened/contracts";
import { BOS_POLICIES, type PerplexityResult } from "@shortened/engine";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { choiceFlag, intFlag, intListFlag } from "./cli-numbers.js";
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

interface PplSummary {
  ppl: number;
  tokens: number;
  windows: number;
  meanNll: number;
  segmentMeanNll: number[];
  protocol: PerplexityResult["protocol"];
  plan: PerplexityResult["plan"];
}

export interface PplCliResult extends Omit<PplSummary, "windows"> {
  nsamples: number;
}

function human(r: PplCliResult): string {
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
          .option("--seq-len <n>", "window length (default 128)")
          .option("--bos <policy>", "first | every | none (default first)")
          .option("--bos-id <id>", "BOS token id (default: the config's bos_token_id)")
          .option("--batch-size <n>", "windows per forward run (default 8)")
          .option("--skip <list>", "evaluate with these blocks removed (comma-separated)"),
      ),
    ),
  )
    .option("--json", "print one JSON object")
    .action(async (f: EvalPplFlags) => {
      await runCommand(f, () => evalPpl(f), human);
    });
}

/** Runs the evaluate job's ppl task on the folder; a file given stays named by its path in the protocol. */
async function evalPpl(f: EvalPplFlags): Promise<PplCliResult> {
  const sources = [f.ids, f.text, f.dataset].filter((x) => x !== undefined).length;
  if (sources !== 1)
    throw new UserError(
      "bad_request",
      "give exactly one of --ids FILE, --text FILE, --dataset wikitext2|ptb|tinystories",
    );
  const file = f.ids ?? f.text;
  return withFolderRun({ model: f.model, json: f.json }, async (run) => {
    const r = await run.run("evaluate", {
      task: "ppl",
      dataset: choiceFlag("--dataset", f.dataset, EvalDataset.options),
      ...(file === undefined
        ? {}
        : {
            artifact: await run.addInput(file, f.ids ? "ids file" : "text file"),
            format: f.ids ? ("ids" as const) : ("text" as const),
          }),
      seqLen: intFlag("--seq-len", f.seqLen),
      bos: choiceFlag("--bos", f.bos, BOS_POLICIES),
      bosId: intFlag("--bos-id", f.bosId),
      batchSize: intFlag("--batch-size", f.batchSize),
      skip: intListFlag("--skip", f.skip),
      device: deviceFlag(f.device),
      dtype: dtypeFlag(f.dtype),
      threads: intFlag("--threads", f.threads),
      memoryBudget: f.memoryBudget,
      accuracyLevel: accuracyLevelFlag(f.accuracyLevel),
    });
    const s = r.summary as unknown as PplSummary;
    return {
      ppl: s.ppl,
      tokens: s.tokens,
      nsamples: s.windows,
      meanNll: s.meanNll,
      segmentMeanNll: s.segmentMeanNll,
      protocol: { ...s.protocol, ...(file === undefined ? {} : { source: file }) },
      plan: s.plan,
    };
  });
}

export function register(program: Command): void {
  evalCommand(program).addCommand(evalPplCommand());
}
