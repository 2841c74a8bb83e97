// benchmark: greedy generation latency and throughput of the model per batch size (random prompts), as the
// authors' gen_batch_eval_time.py; with a baseline version, both alternate run by run and the result has the
// ratios. Each number of the job's own model is stored with the settings and machine that produced it.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AccuracyLevel, benchmarkGeneration } from "@shortened/engine";
import type { Handler } from "./types.js";

export const benchmark: Handler<"benchmark"> = async (spec, ports) => {
  const { input, teamId } = ports.context;
  const models: { label: string; dir: string }[] = [];
  if (spec.baseline !== undefined) {
    const b = await ports.registry.resolveVersion(teamId, spec.baseline);
    models.push({
      label: `${b.modelName}@${b.number}`,
      dir: await ports.checkpoints.materialize(b, ports.signal),
    });
  }
  const dir = await ports.checkpoints.materialize(input, ports.signal);
  const own = `${input.modelName}@${input.number}`;
  models.push({ label: models[0]?.label === own ? `${own} (pruned)` : own, dir });
  ports.signal.throwIfAborted();
  const r = await benchmarkGeneration({
    models,
    batchSizes: spec.batchSizes,
    inputLen: spec.promptTokens,
    outputLen: spec.genTokens,
    warmup: spec.warmup,
    runs: spec.repeats,
    seed: spec.seed,
    memory: spec.memory,
    device: ports.context.device,
    dtype: spec.dtype,
    threads: spec.threads,
    memoryBudget: spec.memoryBudget,
    accuracyLevel: spec.accuracyLevel as AccuracyLevel | undefined,
    onProgress: (message) => ports.progress.log(`benchmark: ${message}`),
  });
  const file = join(ports.context.workDir, "benchmark.json");
  await writeFile(file, JSON.stringify(r, null, 2));
  const machine = {
    cpu: r.machine.cpu,
    cores: r.machine.cores,
    onnxruntime: r.machine.onnxruntime,
    device: r.machine.device,
  };
  const mine = r.rows.filter((row) => row.label === models.at(-1)!.label);
  const metrics = mine.flatMap((row) => {
    const protocol = {
      task: "generation",
      batch: row.batch,
      promptTokens: spec.promptTokens,
      genTokens: spec.genTokens,
      runs: spec.repeats,
      warmup: spec.warmup,
      seed: spec.seed,
      decoding: "greedy",
      prompts: "random token ids",
      dtype: row.dtype,
      execution: row.execution,
      ...machine,
    };
    return [
      { name: "latency_s", value: row.latencyS.median, protocol },
      { name: "tokens_per_s", value: row.tokensPerSecond.median, protocol },
      ...(row.memory ? [{ name: "peak_rss_mb", value: row.memory.peakMb, protocol }] : []),
    ];
  });
  return {
    artifacts: [{ name: "benchmark.json", path: file, contentType: "application/json" }],
    metrics,
    summary: {
      rows: r.rows.map((row) => ({
        model: row.label,
        batch: row.batch,
        latencyS: row.latencyS.median,
        tokensPerSecond: row.tokensPerSecond.median,
        plan: row.plan,
      })),
      ratios: r.ratios,
      machine: r.machine,
    },
  };
};
