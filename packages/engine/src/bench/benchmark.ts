// The paper's efficiency benchmark (authors' gen_batch_eval_time.py, on ONNX Runtime): for each batch size,
// generate `outputLen` tokens after `inputLen` prompt tokens (forced length: EOS ignored), after warm-up runs,
// repeated; latency is the wall time of a whole generation, throughput = batch · outputLen / latency.
// Models are compared side by side: their timed runs alternate (A, B, A, B, …) so that load from other
// processes hits both alike. Peak memory is measured per model in a child process of its own.
import { cpus, release as osRelease, type as osType, totalmem } from "node:os";
import { UserError } from "@shortened/contracts";
import { readConfig } from "@shortened/hf";
import { KvGenerator, type KvGeneratorOptions } from "../generate/generator.js";
import type { Device } from "../graph/session.js";
import { ort } from "../graph/session.js";
import type { ComputeDtype } from "../models/precision.js";
import type { AccuracyLevel } from "../quantize/matmul-nbits.js";
import { generationFlops, modelAndCacheBytes } from "./flops.js";
import { measurePeakMemory, type PeakMemory } from "./peak-memory.js";
import { randomPrompts } from "./prompts.js";
import { type Spread, spread } from "./stats.js";

export interface BenchmarkModel {
  label: string;
  dir: string;
}

export interface BenchmarkOptions {
  models: BenchmarkModel[];
  batchSizes: number[];
  inputLen: number;
  outputLen: number;
  warmup: number;
  runs: number;
  device?: Device;
  threads?: number;
  /** compute dtype (default float32) */
  dtype?: ComputeDtype;
  /** GPTQ checkpoints: MatMulNBits accuracy_level (default 0, exact against the dequantized weights) */
  accuracyLevel?: AccuracyLevel;
  seed?: number;
  /** Measure peak memory per model and batch size (one child process each). */
  memory?: boolean;
  /** peak memory allowed ("4G", bytes): each model is planned for the largest batch, whole or block-streamed */
  memoryBudget?: string | number;
  /** force the whole-model or the streamed plan (still refused when it does not fit) */
  execution?: "whole" | "streamed";
  onProgress?: (message: string) => void;
}

export interface BenchmarkRow {
  label: string;
  model: string;
  batch: number;
  numHiddenLayers: number;
  /** how the model ran: whole, or block-streamed (every block read again per decoding step) */
  execution: "whole" | "streamed";
  /** the compute dtype it ran in (the whole model's or the streamed blocks' matrices and MatMuls) */
  dtype: ComputeDtype;
  plan: string;
  latencyS: Spread;
  /** every timed run's latency, in run order (runs of the compared models alternate) */
  latencyRunsS: number[];
  tokensPerSecond: Spread;
  /** median prefill time and median decode time per token */
  prefillS: number;
  decodeSPerToken: number;
  flops: number;
  /** the weights in the compute dtype and the final KV cache, MiB (computed from the config) */
  weightsMb: number;
  kvCacheMb: number;
  /** measured in a child process (see peak-memory.ts); null when not requested */
  memory: PeakMemory | null;
}

export interface BenchmarkResult {
  rows: BenchmarkRow[];
  /** Per batch size, each model against the first: ratios of median latency and median throughput, of the
   *  fastest runs (`latencyBest`), the median over runs of the latency ratio of each alternating pair
   *  (`latencyPaired`, robust to slow changes of machine load), and the FLOP ratio. */
  ratios: {
    batch: number;
    label: string;
    latency: number;
    latencyBest: number;
    latencyPaired: number;
    throughput: number;
    flops: number;
  }[];
  settings: Omit<BenchmarkOptions, "models" | "onProgress"> & {
    decoding: "greedy";
    prompts: "random token ids";
  };
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    os: string;
    node: string;
    onnxruntime: string;
    device: Device;
  };
  date: string;
}

const mib = (b: { weights: number; kvCache: number }) => ({
  weightsMb: b.weights / 2 ** 20,
  kvCacheMb: b.kvCache / 2 ** 20,
});

function check(o: BenchmarkOptions): void {
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  if (o.models.length === 0) throw new UserError("bad_request", "no model to benchmark");
  if (o.batchSizes.length === 0 || !o.batchSizes.every(posInt))
    throw new UserError("bad_request", "batch sizes must be positive integers");
  if (!posInt(o.inputLen) || !posInt(o.outputLen))
    throw new UserError("bad_request", "input and output lengths must be positive integers");
  if (!posInt(o.runs) || !(Number.isInteger(o.warmup) && o.warmup >= 0))
    throw new UserError("bad_request", "runs must be ≥ 1 and warm-up runs ≥ 0");
}

/** The generator options of every model: planned for the longest generation at the largest batch. */
export function generatorOptions(o: {
  batchSizes: number[];
  inputLen: number;
  outputLen: number;
  device?: Device;
  dtype?: ComputeDtype;
  threads?: number;
  memoryBudget?: string | number;
  execution?: "whole" | "streamed";
  accuracyLevel?: AccuracyLevel;
}): KvGeneratorOptions {
  return {
    device: o.device,
    dtype: o.dtype,
    accuracyLevel: o.accuracyLevel,
    threads: o.threads,
    memoryBudget: o.memoryBudget,
    execution: o.execution,
    maxSeqLen: o.inputLen + o.outputLen,
    batch: Math.max(...o.batchSizes),
  };
}

export async function benchmarkGeneration(o: BenchmarkOptions): Promise<BenchmarkResult> {
  check(o);
  const log = o.onProgress ?? (() => {});
  const gens: KvGenerator[] = [];
  try {
    for (const m of o.models) {
      const positions = readConfig(m.dir).maxPositionEmbeddings;
      if (o.inputLen + o.outputLen > positions)
        throw new UserError(
          "bad_request",
          `${m.label}: ${o.inputLen} + ${o.outputLen} tokens exceed its ${positions} positions`,
        );
    }
    for (const m of o.models) gens.push(await KvGenerator.open(m.dir, generatorOptions(o)));
    const rows: BenchmarkRow[] = [];
    for (const batch of o.batchSizes) {
      const prompts = gens.map((g) => randomPrompts(g.config.vocabSize, batch, o.inputLen, o.seed ?? 1234));
      const once = (i: number) =>
        gens[i]!.generate(prompts[i]!, { doSample: false, maxNewTokens: o.outputLen, ignoreEos: true });
      for (let w = 0; w < o.warmup; w++) for (let i = 0; i < gens.length; i++) await once(i);
      const times = gens.map(() => ({
        total: [] as number[],
        prefill: [] as number[],
        decode: [] as number[],
      }));
      for (let r = 0; r < o.runs; r++) {
        for (let i = 0; i < gens.length; i++) {
          const t0 = performance.now();
          const res = await once(i);
          times[i]!.total.push((performance.now() - t0) / 1000);
          times[i]!.prefill.push(res.prefillMs / 1000);
          times[i]!.decode.push(res.decodeMs / 1000 / Math.max(1, o.outputLen - 1));
        }
        log(`batch ${batch}: run ${r + 1}/${o.runs}`);
      }
      gens.forEach((g, i) => {
        const latency = spread(times[i]!.total);
        rows.push({
          label: o.models[i]!.label,
          model: o.models[i]!.dir,
          batch,
          numHiddenLayers: g.config.numHiddenLayers,
          execution: g.plan.mode,
          dtype: g.dtype,
          plan: g.plan.summary,
          latencyS: latency,
          latencyRunsS: times[i]!.total,
          tokensPerSecond: spread(times[i]!.total.map((t) => (batch * o.outputLen) / t)),
          prefillS: spread(times[i]!.prefill).median,
          decodeSPerToken: spread(times[i]!.decode).median,
          flops: generationFlops(g.config, batch, o.inputLen, o.outputLen),
          ...mib(modelAndCacheBytes(g.config, batch, o.inputLen + o.outputLen, g.dtype)),
          memory: null,
        });
      });
    }
    await Promise.all(gens.splice(0).map((g) => g.release()));
    if (o.memory) {
      for (const row of rows) {
        log(`peak memory: ${row.label}, batch ${row.batch}`);
        row.memory = measurePeakMemory({
          model: row.model,
          batch: row.batch,
          inputLen: o.inputLen,
          outputLen: o.outputLen,
          device: o.device,
          threads: o.threads,
          dtype: o.dtype,
          memoryBudget: o.memoryBudget,
          execution: o.execution,
          accuracyLevel: o.accuracyLevel,
          planBatch: Math.max(...o.batchSizes),
        });
      }
    }
    const ratios = rows
      .filter((r) => r.label !== o.models[0]!.label)
      .map((r) => {
        const base = rows.find((b) => b.batch === r.batch && b.label === o.models[0]!.label)!;
        return {
          batch: r.batch,
          label: r.label,
          latency: r.latencyS.median / base.latencyS.median,
          latencyBest: r.latencyS.min / base.latencyS.min,
          latencyPaired: spread(r.latencyRunsS.map((t, k) => t / base.latencyRunsS[k]!)).median,
          throughput: r.tokensPerSecond.median / base.tokensPerSecond.median,
          flops: r.flops / base.flops,
        };
      });
    const { models: _m, onProgress: _p, ...settings } = o;
    return {
      rows,
      ratios,
      settings: { ...settings, decoding: "greedy", prompts: "random token ids" },
      machine: {
        cpu: cpus()[0]?.model ?? "unknown",
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        os: `${osType()} ${osRelease()}`,
        node: process.version,
        onnxruntime: String(ort.env.versions.node ?? ort.env.versions.common),
        device: o.device ?? "cpu",
      },
      date: new Date().toISOString(),
    };
  } finally {
    await Promise.all(gens.map((g) => g.release()));
  }
}
