// benchmark: greedy generation latency and throughput of the model per batch size (random prompts),
// each number stored with the settings and machine that produced it.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { benchmarkGeneration } from "@shortened/engine";
import type { Handler } from "./types.js";

export const benchmark: Handler<"benchmark"> = async (spec, ports) => {
  const input = ports.context.input;
  const dir = await ports.checkpoints.materialize(input, ports.signal);
  ports.signal.throwIfAborted();
  const r = await benchmarkGeneration({
    models: [{ label: `${input.modelName}@${input.number}`, dir }],
    batchSizes: spec.batchSizes,
    inputLen: spec.promptTokens,
    outputLen: spec.genTokens,
    warmup: spec.warmup,
    runs: spec.repeats,
    device: spec.device,
    dtype: spec.dtype,
    threads: spec.threads,
    memoryBudget: spec.memoryBudget,
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
  const metrics = r.rows.flatMap((row) => {
    const protocol = {
      task: "generation",
      batch: row.batch,
      promptTokens: spec.promptTokens,
      genTokens: spec.genTokens,
      runs: spec.repeats,
      warmup: spec.warmup,
      decoding: "greedy",
      prompts: "random token ids",
      dtype: spec.dtype ?? "float32",
      execution: row.execution,
      ...machine,
    };
    return [
      { name: "latency_s", value: row.latencyS.median, protocol },
      { name: "tokens_per_s", value: row.tokensPerSecond.median, protocol },
    ];
  });
  return {
    artifacts: [{ name: "benchmark.json", path: file, contentType: "application/json" }],
    metrics,
    summary: {
      rows: r.rows.map((row) => ({
        batch: row.batch,
        latencyS: row.latencyS.median,
        tokensPerSecond: row.tokensPerSecond.median,
        plan: row.plan,
      })),
      machine: r.machine,
    },
  };
};
