// The PPL criterion (anal_block_sensitivity_ppl.py): score[i] = exp(mean NLL over the calibration rows of the
// model without block i). Blocks before i are the full model's, so the full model runs once per calibration
// batch and its hidden state h_i (block i's input) is fed back with gates 0 for blocks 0..i (skipped by `If`):
// the model resumes after block i and the unchanged prefix is never recomputed.
import type { Checkpoint } from "@shortened/hf";
import { streamedPplCriterion } from "../execution/streamed-importance.js";
import type { StreamedModel } from "../execution/streamed-model.js";
import type { Device } from "../graph/session.js";
import { embeddingLookup } from "../models/embedding.js";
import { ForwardSession } from "../models/forward-session.js";
import type { ComputeDtype } from "../models/precision.js";
import { shiftedTargets } from "../models/targets.js";
import type { Calibration } from "./calibration.js";

export interface PplCriterionResult {
  scores: number[];
  basePpl: number;
  blockMeanNll: number[];
}

export async function pplCriterion(
  ckpt: Checkpoint,
  calib: Calibration,
  opts: {
    batchSize: number;
    device?: Device;
    threads?: number;
    dtype?: ComputeDtype;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
    /** block-streamed: this model, this many rows per pass (block-major order, ../execution), and as many rows
     *  per block call, stacked across candidates (default batchSize) */
    streamed?: { model: StreamedModel; rowsPerPass: number; rowsPerCall?: number };
    /** blocks already removed (gated off, which equals the pruned model): their scores are NaN (SLEB) */
    removed?: ReadonlySet<number>;
  },
): Promise<PplCriterionResult> {
  const L = ckpt.config.numHiddenLayers;
  const T = calib.seqLen;
  const count = calib.rows * (T - 1);
  const result = (baseSum: number, blockSums: Float64Array) => {
    const blockMeanNll = Array.from(blockSums, (s) => s / count);
    return { scores: blockMeanNll.map(Math.exp), basePpl: Math.exp(baseSum / count), blockMeanNll };
  };
  const removed = opts.removed ?? new Set<number>();
  if (opts.streamed) {
    if (removed.size) throw new Error("pplCriterion: removed blocks need the whole-model plan");
    const { model, rowsPerPass, rowsPerCall } = opts.streamed;
    const r = await streamedPplCriterion(model, calib, { ...opts, rowsPerPass, rowsPerCall });
    return result(r.baseSum, r.blockSums);
  }
  // One session serves the full model and every resumed one: it takes the hidden state entering block 0 (the
  // embedding output, looked up here) and skips the blocks whose gate is 0.
  const session = await ForwardSession.open(ckpt, {
    device: opts.device,
    threads: opts.threads,
    input: "hidden",
    hidden: true,
    skipGatedBlocks: true,
    maxSeqLen: T,
    dtype: opts.dtype,
  });
  try {
    const embed = embeddingLookup(ckpt, opts.dtype);
    let baseSum = 0;
    const blockSums = new Float64Array(L);
    for (const i of removed) blockSums[i] = Number.NaN;
    const kept = (j: number) => (removed.has(j) ? 0 : 1);
    const total = calib.rows * (L + 1 - removed.size);
    let done = 0;
    for (let r0 = 0; r0 < calib.rows; r0 += opts.batchSize) {
      opts.signal?.throwIfAborted();
      const B = Math.min(opts.batchSize, calib.rows - r0);
      const ids = calib.flat.slice(r0 * T, (r0 + B) * T);
      const targets = shiftedTargets(ids, B, T);
      const full = await session.run(
        {
          batch: B,
          seqLen: T,
          hiddenIn: embed(ids),
          targets,
          gates: Float32Array.from({ length: L }, (_, j) => kept(j)),
        },
        { nll: true, hidden: true },
      );
      baseSum += predictedSum(full.nll!, B, T);
      done += B;
      opts.onProgress?.(done, total);
      for (let i = 0; i < L; i++) {
        if (removed.has(i)) continue;
        opts.signal?.throwIfAborted();
        // h_i (block i's input) enters block 0; blocks 0..i are skipped, so the model resumes after block i.
        const gates = new Float32Array(L);
        for (let j = i + 1; j < L; j++) gates[j] = kept(j);
        const res = await session.run(
          { batch: B, seqLen: T, hiddenIn: full.hidden![i]!, targets, gates },
          { nll: true },
        );
        blockSums[i] += predictedSum(res.nll!, B, T);
        done += B;
        opts.onProgress?.(done, total);
      }
    }
    return result(baseSum, blockSums);
  } finally {
    await session.release();
  }
}

/** Σ NLL over the T−1 predicted positions of each of B rows. */
function predictedSum(nll: Float32Array, B: number, T: number): number {
  let s = 0;
  for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) s += nll[b * T + t]!;
  return s;
}
