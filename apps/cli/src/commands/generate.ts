// `shortened generate --model DIR --prompt "..."`: text generation with the KV cache (prefill, then one decode
// run per token). Greedy by default; --sample (or any of --temperature/--top-k/--top-p) samples, seeded.
import { existsSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import { continuationText, decodingSettings, generationSpecialIds, KvGenerator } from "@shortened/engine";
import { loadTokenizer } from "@shortened/hf";
import type { GenerationSettings } from "@shortened/jobs";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { intFlag, numberFlag } from "./cli-numbers.js";
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

interface Flags {
  model: string;
  prompt: string;
  maxNewTokens: string;
  sample?: boolean;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed: string;
  numSamples: string;
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
  prompt: string;
  samples: { text: string; tokens: number[]; finish: "eos" | "length" }[];
  settings: Omit<GenerationSettings, "numSamples" | "bos">;
  promptTokens: number;
  newTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** generated tokens per second of decoding, all rows together */
  tokensPerSecond: number;
}

async function generate(f: Flags): Promise<GenerateCliResult> {
  if (f.prompt.trim() === "") throw new UserError("bad_request", "--prompt is empty");
  const maxNewTokens = intFlag("--max-new-tokens", f.maxNewTokens)!;
  const numSamples = intFlag("--num-samples", f.numSamples)!;
  if (numSamples < 1) throw new UserError("bad_request", "--num-samples must be at least 1");
  const temperature = numberFlag("--temperature", f.temperature);
  const topK = intFlag("--top-k", f.topK);
  const topP = numberFlag("--top-p", f.topP);
  const seed = intFlag("--seed", f.seed)!;
  const device = deviceFlag(f.device);
  const threads = intFlag("--threads", f.threads);
  if (!existsSync(f.model)) throw new UserError("not_found", `model folder not found: ${f.model}`, 404);
  const tok = loadTokenizer(f.model);
  const ids = tok.encode(f.prompt, { addSpecialTokens: f.bos });
  const gen = await KvGenerator.open(f.model, {
    device,
    dtype: dtypeFlag(f.dtype),
    threads,
    maxSeqLen: ids.length + maxNewTokens,
    batch: numSamples,
    memoryBudget: f.memoryBudget,
    accuracyLevel: accuracyLevelFlag(f.accuracyLevel),
    onPlan: planPrinter(f.json),
  });
  try {
    const settings = decodingSettings({ sample: f.sample, temperature, topK, topP, seed, maxNewTokens });
    const { eosIds, special } = generationSpecialIds(gen.defaultEosIds(), tok);
    const r = await gen.generate(
      Array.from({ length: numSamples }, () => ids),
      { ...settings, eosIds, ignoreEos: f.ignoreEos },
    );
    const newTokens = r.tokens.reduce((a, t) => a + t.length, 0);
    return {
      prompt: f.prompt,
      samples: r.tokens.map((t, i) => ({
        text: continuationText(tok, ids, t, special),
        tokens: t,
        finish: r.finish[i]!,
      })),
      settings,
      promptTokens: ids.length,
      newTokens,
      prefillMs: r.prefillMs,
      decodeMs: r.decodeMs,
      tokensPerSecond: newTokens / Math.max(1e-9, (r.prefillMs + r.decodeMs) / 1000),
    };
  } finally {
    await gen.release();
  }
}

function human(r: GenerateCliResult): string {
  const body = r.samples.map(
    (s, i) => `${r.samples.length > 1 ? `--- sample ${i + 1} (${s.finish})\n` : ""}${r.prompt}${s.text}`,
  );
  const mode = r.settings.doSample
    ? `sampled (temperature ${r.settings.temperature}, top-k ${r.settings.topK || "off"}, top-p ${r.settings.topP}, seed ${r.settings.seed})`
    : "greedy";
  return [...body, `[${r.newTokens} new tokens, ${mode}, ${r.tokensPerSecond.toFixed(1)} tokens/s]`].join(
    "\n",
  );
}

export function generateCommand(): Command {
  return addAccuracyLevelOption(
    addMemoryBudgetOption(
      addRuntimeOptions(
        addDtypeOption(new Command("generate"))
          .description(
            "generate text from a prompt with a KV cache (greedy, or sampled with temperature/top-k/top-p)",
          )
          .requiredOption("--model <dir>", "model folder (config.json, safetensors, tokenizer.json)")
          .requiredOption("--prompt <text>", "the prompt")
          .option("--max-new-tokens <n>", "most tokens to generate", "128")
          .option("--sample", "sample instead of greedy decoding")
          .option("--temperature <t>", "softmax temperature (implies --sample)")
          .option("--top-k <k>", "keep the k most likely tokens (implies --sample)")
          .option("--top-p <p>", "keep the most likely tokens up to mass p (implies --sample)")
          .option("--seed <n>", "seed of the sampler", "0")
          .option("--num-samples <n>", "independent generations of the prompt, run as one batch", "1")
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
