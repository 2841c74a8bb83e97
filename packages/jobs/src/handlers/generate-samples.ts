// evaluate task "generate": sample generations from prompts with the KV cache, as the paper shows them
// beside its numbers. Each prompt runs on its own (numSamples rows of it in one batch) with the same seed,
// so a prompt's outputs do not depend on the other prompts. samples.json keeps prompts, outputs and settings.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type EvaluateGenerateSpec, type Ports, UserError } from "@shortened/contracts";
import { checkSampling, KvGenerator, softwareVersion } from "@shortened/engine";
import { loadTokenizer, readConfig, type TextTokenizer } from "@shortened/hf";
import type { GenerationSettings, SamplesSection } from "../report.js";
import type { TaskOutcome } from "./evaluate-outcome.js";

export function generationSettings(spec: EvaluateGenerateSpec): GenerationSettings {
  const doSample =
    spec.sample || spec.temperature !== undefined || spec.topK !== undefined || spec.topP !== undefined;
  return {
    doSample,
    temperature: spec.temperature ?? 1,
    topK: spec.topK ?? 0,
    topP: spec.topP ?? 1,
    seed: spec.seed,
    maxNewTokens: spec.maxNewTokens,
    numSamples: spec.numSamples,
    bos: spec.bos,
  };
}

/** The text a row added: prompt and continuation decoded together (a SentencePiece decoder would otherwise
 *  drop the continuation's first space), special tokens left out. */
function continuationText(
  tok: TextTokenizer,
  prompt: number[],
  added: number[],
  special: Set<number>,
): string {
  const plain = (t: number[]) => t.filter((id) => !special.has(id));
  const promptText = tok.decode(plain(prompt));
  const full = tok.decode(plain([...prompt, ...added]));
  return full.startsWith(promptText) ? full.slice(promptText.length) : tok.decode(plain(added));
}

export async function generateSamples(
  spec: EvaluateGenerateSpec,
  ports: Ports,
  dir: string,
): Promise<TaskOutcome<SamplesSection>> {
  const settings = generationSettings(spec);
  // ---- every check before the model is loaded ----
  checkSampling(settings);
  const positions = readConfig(dir).maxPositionEmbeddings;
  const tok = loadTokenizer(dir);
  const encoded = spec.prompts.map((p, i) => {
    const ids = tok.encode(p, { addSpecialTokens: spec.bos });
    if (ids.length === 0) throw new UserError("bad_request", `prompt ${i + 1} has no tokens`);
    if (ids.length + spec.maxNewTokens > positions)
      throw new UserError(
        "bad_request",
        `prompt ${i + 1} (${ids.length} tokens) + maxNewTokens (${spec.maxNewTokens}) exceed the model's ${positions} positions`,
      );
    return ids;
  });

  const gen = await KvGenerator.open(dir, { device: spec.device, threads: spec.threads });
  const samples: SamplesSection["samples"] = [];
  const rows: {
    prompt: string;
    promptTokens: number[];
    outputs: { text: string; tokens: number[]; finish: string }[];
  }[] = [];
  try {
    const eosIds =
      tok.eosId !== undefined ? [...new Set([...gen.defaultEosIds(), tok.eosId])] : gen.defaultEosIds();
    const special = new Set([...eosIds, ...(tok.bosId !== undefined ? [tok.bosId] : [])]);
    for (const [i, ids] of encoded.entries()) {
      ports.signal.throwIfAborted();
      const r = await gen.generate(
        Array.from({ length: spec.numSamples }, () => ids),
        // Throwing from the per-token callback stops a long generation within one token of a cancel.
        { ...settings, eosIds, onToken: () => ports.signal.throwIfAborted() },
      );
      const outputs = r.tokens.map((t, b) => ({
        text: continuationText(tok, ids, t, special),
        tokens: t,
        finish: r.finish[b]!,
      }));
      rows.push({ prompt: spec.prompts[i]!, promptTokens: ids, outputs });
      samples.push({
        prompt: spec.prompts[i]!,
        outputs: outputs.map((o) => ({ text: o.text, finish: o.finish, newTokens: o.tokens.length })),
      });
      ports.progress.progress((i + 1) / encoded.length, "generate");
      ports.progress.log(
        `generate: prompt ${i + 1}/${encoded.length}, ${outputs[0]!.tokens.length} new tokens`,
      );
    }
  } finally {
    await gen.release();
  }
  const protocol = {
    task: "generate",
    decoding: settings.doSample ? "sample" : "greedy",
    ...settings,
    eos: "stop",
    tokenizerHash: tok.hash,
    dtype: "float32",
    software: softwareVersion(),
  };
  const file = join(ports.context.workDir, "samples.json");
  await writeFile(file, JSON.stringify({ settings, protocol, samples: rows }, null, 2));
  return {
    artifacts: [{ name: "samples.json", path: file, contentType: "application/json" }],
    metrics: [],
    summary: { samples, settings },
    section: { kind: "generate", settings, samples, protocol },
  };
}
