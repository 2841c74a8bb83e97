// `shortened generate --model DIR [--model DIR2 ...] --prompt "..."`: text generation with the KV cache (prefill,
// then one decode run per token), by the evaluate job's generate task on each folder. Greedy by default;
// --sample (or any of --temperature/--top-k/--top-p) samples, seeded. Several models: side by side in columns.
import { readFileSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import type { GenerationSettings } from "@shortened/jobs";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { intFlag, numberFlag } from "./cli-numbers.js";
import { withFolderRun } from "./folder-job.js";
import { sideBySide } from "./generate-columns.js";
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
  model: string[];
  prompt: string;
  maxNewTokens?: string;
  sample?: boolean;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed?: string;
  numSamples?: string;
  bos: boolean;
  ignoreEos?: boolean;
  device?: string;
  dtype?: string;
  threads?: string;
  memoryBudget?: string;
  accuracyLevel?: string;
  json?: boolean;
}

export interface GenerateCliResult {
  model: string;
  prompt: string;
  samples: { text: string; tokens: number[]; finish: "eos" | "length" }[];
  settings: Omit<GenerationSettings, "numSamples" | "bos">;
  promptTokens: number;
  newTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** seconds to the first new token */
  ttftS: number;
  /** generated tokens per second of prefill + decoding, all rows together */
  tokensPerSecond: number;
}

/** samples.json of the evaluate job's generate task (one prompt). */
interface SamplesFile {
  settings: GenerationSettings;
  samples: {
    promptTokens: number[];
    outputs: { text: string; tokens: number[]; finish: "eos" | "length" }[];
    prefillMs: number;
    decodeMs: number;
  }[];
}

/** The evaluate job's generate task on one model folder, with the flags' settings. */
async function generateOne(model: string, f: Flags): Promise<GenerateCliResult> {
  return withFolderRun({ model, json: f.json }, async (run) => {
    const r = await run.run("evaluate", {
      task: "generate",
      prompts: [f.prompt],
      maxNewTokens: intFlag("--max-new-tokens", f.maxNewTokens),
      sample: f.sample,
      temperature: numberFlag("--temperature", f.temperature),
      topK: intFlag("--top-k", f.topK),
      topP: numberFlag("--top-p", f.topP),
      seed: intFlag("--seed", f.seed),
      numSamples: intFlag("--num-samples", f.numSamples),
      bos: f.bos,
      ignoreEos: f.ignoreEos,
      device: deviceFlag(f.device),
      dtype: dtypeFlag(f.dtype),
      threads: intFlag("--threads", f.threads),
      memoryBudget: f.memoryBudget,
      accuracyLevel: accuracyLevelFlag(f.accuracyLevel),
    });
    const file = r.artifacts.find((a) => a.name === "samples.json")!;
    const out = JSON.parse(readFileSync(file.path, "utf8")) as SamplesFile;
    const row = out.samples[0]!;
    const { numSamples: _n, bos: _b, ...settings } = out.settings;
    const newTokens = row.outputs.reduce((a, o) => a + o.tokens.length, 0);
    const timing = (r.summary.timing as { ttftS: number }[])[0]!;
    return {
      model,
      prompt: f.prompt,
      samples: row.outputs,
      settings,
      promptTokens: row.promptTokens.length,
      newTokens,
      prefillMs: row.prefillMs,
      decodeMs: row.decodeMs,
      ttftS: timing.ttftS,
      tokensPerSecond: newTokens / Math.max(1e-9, (row.prefillMs + row.decodeMs) / 1000),
    };
  });
}

/** One model: its result; several (--model A --model B ...): {"models": [one result per model]}, same settings. */
async function generate(f: Flags): Promise<GenerateCliResult | { models: GenerateCliResult[] }> {
  if (f.prompt.trim() === "") throw new UserError("bad_request", "--prompt is empty");
  if (f.model.length > 4) throw new UserError("bad_request", "give at most four --model folders");
  const results: GenerateCliResult[] = [];
  for (const m of f.model) results.push(await generateOne(m, f));
  return results.length === 1 ? results[0]! : { models: results };
}

const mode = (r: GenerateCliResult) =>
  r.settings.doSample
    ? `sampled (temperature ${r.settings.temperature}, top-k ${r.settings.topK || "off"}, top-p ${r.settings.topP}, seed ${r.settings.seed})`
    : "greedy";

function humanOne(r: GenerateCliResult): string {
  const body = r.samples.map(
    (s, i) => `${r.samples.length > 1 ? `--- sample ${i + 1} (${s.finish})\n` : ""}${r.prompt}${s.text}`,
  );
  return [...body, `[${r.newTokens} new tokens, ${mode(r)}, ${r.tokensPerSecond.toFixed(1)} tokens/s]`].join(
    "\n",
  );
}

function human(r: GenerateCliResult | { models: GenerateCliResult[] }): string {
  if (!("models" in r)) return humanOne(r);
  const width = Math.max(
    24,
    Math.floor(((process.stdout.columns || 120) - 3 * (r.models.length - 1)) / r.models.length),
  );
  return [
    sideBySide(
      r.models.map((m) => ({
        title: m.model,
        text: m.samples.map((s) => `${m.prompt}${s.text}`).join("\n---\n"),
        footer: `${m.newTokens} new tokens, ${m.ttftS.toFixed(2)} s to first, ${m.tokensPerSecond.toFixed(1)} tokens/s`,
      })),
      width,
    ),
    `[${mode(r.models[0]!)}, the same settings and seed for every model]`,
  ].join("\n");
}

export function generateCommand(): Command {
  return addAccuracyLevelOption(
    addMemoryBudgetOption(
      addRuntimeOptions(
        addDtypeOption(new Command("generate"))
          .description(
            "generate text from a prompt with a KV cache (greedy, or sampled with temperature/top-k/top-p)",
          )
          .requiredOption(
            "--model <dir>",
            "model folder (config.json, safetensors, tokenizer.json); repeat (up to 4) to compare side by side",
            (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
          )
          .requiredOption("--prompt <text>", "the prompt")
          .option("--max-new-tokens <n>", "most tokens to generate (default 64)")
          .option("--sample", "sample instead of greedy decoding")
          .option("--temperature <t>", "softmax temperature (implies --sample)")
          .option("--top-k <k>", "keep the k most likely tokens (implies --sample)")
          .option("--top-p <p>", "keep the most likely tokens up to mass p (implies --sample)")
          .option("--seed <n>", "seed of the sampler (default 0)")
          .option("--num-samples <n>", "independent generations of the prompt, run as one batch (default 1)")
          .option("--no-bos", "do not prepend the tokenizer's BOS token")
          .option("--ignore-eos", "continue past the end-of-sequence token"),
      ),
    ),
  )
    .option("--json", "print one JSON object")
    .action(async (f: Flags) => {
      await runCommand(f, () => generate(f), human);
    });
}

export function register(program: Command): void {
  program.addCommand(generateCommand());
}
