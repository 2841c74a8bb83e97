// Post-training quantization of a float model into a GPTQ checkpoint, block by block (AutoGPTQ's
// `quantize`): the calibration rows' hidden states enter block 0 from the embedding; in each block the linears
// are quantized group by group in the true-sequential order (k, v, q | o | up, gate | down; phi3: qkv | o |
// gate_up | down), each group's Hessians from a forward of the block in which the earlier groups are already
// quantized; the block's output with all its linears quantized is the next block's input. Only one block's
// weights and the calibration rows' hidden states are held; the packed tensors are written as each block ends.
import { UserError } from "@shortened/contracts";
import { type Checkpoint, type GptqConfig, gptqShapeProblem } from "@shortened/hf";
import type { SessionOptions } from "../graph/session.js";
import { architectureOf, layerName } from "../models/architecture.js";
import { embeddingLookup } from "../models/embedding.js";
import { openCheckpoint } from "../models/weights.js";
import { BlockHessians } from "./block-hessians.js";
import { BlockedFactor } from "./blocked-factor.js";
import { type GptqSettings, type PreparedHessian, prepareHessian, quantizeLinear } from "./gptq-linear.js";
import { GptqWriter, type PackedLinearInput } from "./gptq-writer.js";
import { planQuantize, type QuantizePlan } from "./quantize-plan.js";
import { TrailingUpdate } from "./trailing-update.js";

export interface QuantizeModelOptions extends SessionOptions {
  model: string | Checkpoint;
  /** an existing empty folder the checkpoint is written into */
  out: string;
  /** calibration rows of equal length (one AutoGPTQ example each) */
  rows: number[][];
  settings: GptqSettings & { trueSequential: boolean; checkpointFormat: "gptq" | "gptq_v2" };
  /** calibration rows per forward */
  batchSize?: number;
  /** peak memory allowed (size text or bytes; default: SHORTENED_MEMORY_BUDGET, else 75 % of available): the
   *  batch shrinks to fit, and a run that cannot fit is refused before any compute */
  memoryBudget?: string | number;
  onPlan?: (plan: QuantizePlan) => void;
  /** largest diagonal block of H's factor computed on the host (default 128); the rest are ORT products */
  factorLeaf?: number;
  signal?: AbortSignal;
  onProgress?: (p: { block: number; blocks: number; layer?: LayerReport }) => void;
}

export interface LayerReport {
  name: string;
  inFeatures: number;
  outFeatures: number;
  hessianTrace: number;
  damp: number;
  dampPercent: number;
  dampRetries: number;
  dead: number;
  /** GPTQ's sum of Losses, ½ Σ (w − q)²/U_cc² */
  loss: number;
  /** the whole linear (its share of the forward, the factorization when it made it, the column loop) */
  seconds: number;
  /** the group's forward over the calibration rows with the XᵀX accumulation (on the group's first linear) */
  forwardSeconds: number;
  /** the factor of H⁻¹ (on the first linear of those sharing an input) */
  factorSeconds: number;
}

export interface QuantizeModelResult {
  layers: LayerReport[];
  totalLoss: number;
  dampRetries: number;
  seconds: number;
  quantizationConfig: GptqConfig;
  plan: QuantizePlan;
}

/** AutoGPTQ's inside_layer_modules per family. */
export function trueSequentialGroups(c: { modelType: string }): string[][] {
  if (c.modelType === "phi3")
    return [["self_attn.qkv_proj"], ["self_attn.o_proj"], ["mlp.gate_up_proj"], ["mlp.down_proj"]];
  return [
    ["self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj"],
    ["self_attn.o_proj"],
    ["mlp.up_proj", "mlp.gate_proj"],
    ["mlp.down_proj"],
  ];
}

/** The checks a quantization needs before any compute: a float model, linears the layout can hold, rows. */
export function checkQuantizable(
  ckpt: Checkpoint,
  s: { bits: number; groupSize: number },
  rows?: number[][],
): void {
  const c = ckpt.config;
  if (c.quantization)
    throw new UserError("bad_request", `${ckpt.dir} is already quantized (GPTQ ${c.quantization.bits}-bit)`);
  if (![2, 3, 4, 8].includes(s.bits))
    throw new UserError("bad_request", `bits must be 2, 3, 4 or 8 (got ${s.bits})`);
  if (!(s.groupSize === -1 || (Number.isInteger(s.groupSize) && s.groupSize > 0)))
    throw new UserError("bad_request", `groupSize must be −1 or a positive integer (got ${s.groupSize})`);
  const arch = architectureOf(c);
  for (const t of arch.blockTensors) {
    if (t.role !== "weight") continue;
    const [out, inF] = t.shape as [number, number];
    const problem = gptqShapeProblem(s, out, inF);
    if (problem)
      throw new UserError(
        "bad_request",
        `cannot quantize ${t.suffix.slice(0, -".weight".length)} [${out}, ${inF}] to ${s.bits} bits with group size ${s.groupSize}: ${problem}`,
      );
  }
  if (rows) {
    if (rows.length === 0) throw new UserError("invalid_data", "no calibration rows");
    const T = rows[0]!.length;
    if (T < 1 || rows.some((r) => r.length !== T))
      throw new UserError("invalid_data", "calibration rows must be non-empty and of equal length");
    for (const r of rows)
      for (const t of r)
        if (!(Number.isInteger(t) && t >= 0 && t < c.vocabSize))
          throw new UserError(
            "invalid_data",
            `calibration token id ${t} is outside the vocabulary (${c.vocabSize})`,
          );
  }
}

export async function quantizeModel(opts: QuantizeModelOptions): Promise<QuantizeModelResult> {
  const started = performance.now();
  const ckpt = openCheckpoint(opts.model);
  const c = ckpt.config;
  const s = opts.settings;
  checkQuantizable(ckpt, s, opts.rows);
  const N = opts.rows.length;
  const T = opts.rows[0]!.length;
  const H = c.hiddenSize;
  const plan = planQuantize({
    config: c,
    rows: N,
    seqLen: T,
    batch: opts.batchSize ?? 8,
    method: s.method,
    memoryBudget: opts.memoryBudget,
  });
  opts.onPlan?.(plan);
  const batch = plan.batch;
  const session = { device: opts.device, threads: opts.threads };
  const q: GptqConfig = {
    bits: s.bits as GptqConfig["bits"],
    groupSize: s.groupSize,
    descAct: s.actOrder,
    staticGroups: s.staticGroups,
    sym: s.sym,
    trueSequential: s.trueSequential,
    dampPercent: s.damp,
    checkpointFormat: s.checkpointFormat,
  };
  // hidden states of every calibration row entering the current block
  const embed = embeddingLookup(ckpt);
  const hidden = new Float32Array(N * T * H);
  for (let r = 0; r < N; r++) hidden.set(embed(opts.rows[r]!), r * T * H);
  const groups = s.trueSequential ? trueSequentialGroups(c) : [trueSequentialGroups(c).flat()];
  const writer = await GptqWriter.create(opts.out, ckpt, q);
  const update = await TrailingUpdate.open(session);
  const factor = await BlockedFactor.open({ ...session, leaf: opts.factorLeaf });
  const layers: LayerReport[] = [];
  try {
    for (let i = 0; i < c.numHiddenLayers; i++) {
      opts.signal?.throwIfAborted();
      // block i's current weights: the checkpoint's, replaced by the quantized ones as groups finish
      const current = new Map<string, Float32Array>();
      const weightOf = (suffix: string) => {
        const w = current.get(suffix) ?? ckpt.readFloat32(layerName(i, suffix));
        current.set(suffix, w);
        return w;
      };
      const packed = new Map<string, PackedLinearInput>();
      for (const group of groups) {
        const tf = performance.now();
        const graph = await BlockHessians.open(c, i, group, false, T, session);
        const sums = new Map<string, Float64Array>();
        try {
          for (let r0 = 0; r0 < N; r0 += batch) {
            const b = Math.min(batch, N - r0);
            await graph.run(hidden.subarray(r0 * T * H, (r0 + b) * T * H), b, T, weightOf, sums);
          }
        } finally {
          await graph.release();
        }
        let forwardSeconds = (performance.now() - tf) / 1000;
        const prepared = new Map<string, PreparedHessian>();
        for (const module of group) {
          const t0 = performance.now();
          let factorSeconds = 0;
          const name = layerName(i, module);
          const key = graph.hessianOf.get(module)!;
          const n = graph.inputSize.get(module)!;
          let prep = prepared.get(key);
          if (!prep) {
            // H = 2/N Σ x xᵀ (N: calibration rows, as AutoGPTQ counts them)
            const Hm = sums.get(key)!;
            for (let k = 0; k < Hm.length; k++) Hm[k] = (Hm[k]! * 2) / N;
            const tp = performance.now();
            prep = await prepareHessian(Hm, n, s, name, factor);
            factorSeconds = (performance.now() - tp) / 1000;
            prepared.set(key, prep);
            sums.delete(key);
          }
          const W = weightOf(`${module}.weight`);
          const out = W.length / n;
          const r = await quantizeLinear(W, out, prep, s, update);
          current.set(`${module}.weight`, r.weights);
          packed.set(name, r);
          let dead = 0;
          for (const d of prep.dead) dead += d;
          const layer: LayerReport = {
            name,
            inFeatures: n,
            outFeatures: out,
            hessianTrace: prep.hessianTrace,
            damp: prep.damp,
            dampPercent: prep.dampPercent,
            dampRetries: prep.retries,
            dead,
            loss: r.loss,
            seconds: (performance.now() - t0) / 1000 + forwardSeconds,
            forwardSeconds,
            factorSeconds,
          };
          forwardSeconds = 0;
          layers.push(layer);
          opts.onProgress?.({ block: i, blocks: c.numHiddenLayers, layer });
        }
      }
      // the block's output with all its linears quantized feeds the next block
      if (i + 1 < c.numHiddenLayers) {
        const graph = await BlockHessians.open(c, i, [], true, T, session);
        try {
          for (let r0 = 0; r0 < N; r0 += batch) {
            const b = Math.min(batch, N - r0);
            const part = hidden.subarray(r0 * T * H, (r0 + b) * T * H);
            part.set((await graph.run(part, b, T, weightOf, null))!);
          }
        } finally {
          await graph.release();
        }
      }
      await writer.writeBlock(i, (m) => packed.get(m)!);
      opts.onProgress?.({ block: i + 1, blocks: c.numHiddenLayers });
    }
  } finally {
    await update.release();
    await factor.release();
    await writer.close().catch(() => {});
  }
  return {
    layers,
    totalLoss: layers.reduce((a, l) => a + l.loss, 0),
    dampRetries: layers.reduce((a, l) => a + l.dampRetries, 0),
    seconds: (performance.now() - started) / 1000,
    quantizationConfig: q,
    plan,
  };
}
