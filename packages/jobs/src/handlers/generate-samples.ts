// evaluate task "generate": sample generations from prompts with the KV cache, as the paper shows them
// beside its numbers. Each prompt is a batch of numSamples rows with the same seed, generated as if alone, so
// a prompt's outputs do not depend on the other prompts; all prompts step together (KvGenerator.generateEach). samples.json keeps prompts, outputs and settings.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type EvaluateGenerateSpec, type Ports, UserError } from "@shortened/contracts";
import {
  type AccuracyLevel,
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

  const gen = await KvGenerator.open(dir, {
    device: ports.context.device,
    dtype: spec.dtype,
    threads: spec.threads,
    maxSeqLen: Math.max(...encoded.map((ids) => ids.length)) + spec.maxNewTokens,
    // every prompt's rows (and KV caches) at once
    batch: spec.numSamples * encoded.length,
    memoryBudget: spec.memoryBudget,
    accuracyLevel: spec.accuracyLevel as AccuracyLevel | undefined,
    onPlan: (plan) => ports.progress.log(`plan: ${plan.summary}`),
  });
  const samples: SamplesSection["samples"] = [];
  /** Per prompt: seconds to the first token, and new tokens per second of its first sample. */
  const timing: { ttftS: number; tokensPerS: number }[] = [];
  const rows: {
    prompt: string;
    promptTokens: number[];
    outputs: { text: string; tokens: number[]; finish: string }[];
    prefillMs: number;
    decodeMs: number;
  }[] = [];
  try {
    const { eosIds, special } = generationSpecialIds(gen.defaultEosIds(), tok);
    ports.signal.throwIfAborted();
    // All prompts step together (a block-streamed model then reads its weights once per step for all of them);
    // each prompt's outputs are still those of the prompt alone. Each first sample's text streams as progress
    // events (the sink keeps one every 500 ms, and the last).
    const started = performance.now();
    const streams = encoded.map(() => ({
      tokens: [] as number[],
      ended: false,
      ttftS: 0,
      sentAt: 0,
      endS: 0,
    }));
    const results = await gen.generateEach(
      encoded.map((ids) => Array.from({ length: spec.numSamples }, () => ids)),
      {
        ...settings,
        eosIds,
        ignoreEos: spec.ignoreEos,
        onToken: (i, step, chosen) => {
          // Throwing here stops a long generation within one token of a cancel.
          ports.signal.throwIfAborted();
          const stream = streams[i]!;
          const elapsed = (performance.now() - started) / 1000;
          if (step === 0) stream.ttftS = elapsed;
          stream.endS = elapsed;
          if (stream.ended) return;
          stream.tokens.push(chosen[0]!);
          stream.ended = !spec.ignoreEos && eosIds.includes(chosen[0]!);
          // Decoding the text so far costs O(length): a few times a second, and at the end.
          const last = stream.ended || step === spec.maxNewTokens - 1;
          if (!last && step > 0 && elapsed - stream.sentAt < 0.2) return;
          stream.sentAt = elapsed;
          ports.progress.progress((step + 1) / spec.maxNewTokens, "generate", {
            step: stream.tokens.length,
            totalSteps: spec.maxNewTokens,
            phase: `generate ${i + 1}/${encoded.length}`,
            text: continuationText(tok, encoded[i]!, stream.tokens, special),
            ttftS: stream.ttftS,
            tokensPerS: elapsed > 0 ? stream.tokens.length / elapsed : 0,
          });
        },
      },
    );
    for (const [i, r] of results.entries()) {
      const ids = encoded[i]!;
      const { ttftS, endS } = streams[i]!;
      timing.push({ ttftS, tokensPerS: endS > 0 ? r.tokens[0]!.length / endS : 0 });
      const outputs = r.tokens.map((t, b) => ({
        text: continuationText(tok, ids, t, special),
        tokens: t,
        finish: r.finish[b]!,
      }));
      rows.push({
        prompt: spec.prompts[i]!,
        promptTokens: ids,
        outputs,
        prefillMs: r.prefillMs,
        decodeMs: r.decodeMs,
      });
      samples.push({
        prompt: spec.prompts[i]!,
        outputs: outputs.map((o) => ({ text: o.text, finish: o.finish, newTokens: o.tokens.length })),
      });
      ports.progress.log(
        `generate: prompt ${i + 1}/${encoded.length}, ${outputs[0]!.tokens.length} new tokens`,
      );
    }
    ports.progress.progress(1, "generate");
  } finally {
    await gen.release();
  }
  const protocol = {
    task: "generate",
    decoding: settings.doSample ? "sample" : "greedy",
    ...settings,
    eos: spec.ignoreEos ? "ignore" : "stop",
    tokenizerHash: tok.hash,
    dtype: spec.dtype ?? "float32",
    software: softwareVersion(),
  };
  const file = join(ports.context.workDir, "samples.json");
  await writeFile(file, JSON.stringify({ settings, protocol, samples: rows }, null, 2));
  return {
    artifacts: [{ name: "samples.json", path: file, contentType: "application/json" }],
    metrics: [],
    summary: { samples, settings, timing },
    section: { kind: "generate", settings, samples, protocol },
  };
}
