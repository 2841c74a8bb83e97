// evaluate task "generate": sample generations from prompts with the KV cache, as the paper shows them
// beside its numbers. Each prompt runs on its own (numSamples rows of it in one batch) with the same seed,
// so a prompt's outputs do not depend on the other prompts. samples.json keeps prompts, outputs and settings.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type EvaluateGenerateSpec, type Ports, UserError } from "@shortened/contracts";
import {
  checkSampling,
  continuationText,
  decodingSettings,
  generationSpecialIds,
  KvGenerator,
  softwareVersion,
} from "@shortened/engine";
import { loadTokenizer, readConfig } from "@shortened/hf";
import type { GenerationSettings, SamplesSection } from "../report.js";
import type { TaskOutcome } from "./evaluate-outcome.js";

export function generationSettings(spec: EvaluateGenerateSpec): GenerationSettings {
  return { ...decodingSettings(spec), numSamples: spec.numSamples, bos: spec.bos };
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
    const { eosIds, special } = generationSpecialIds(gen.defaultEosIds(), tok);
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
