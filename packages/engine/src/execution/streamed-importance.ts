// Forward importance criteria, block-streamed in block-major order: each block is read once per pass of
// calibration rows and applied to every state that still needs it.
//
// PPL criterion with prefix reuse: "remove block c" resumes the model from h_c (block c's input). At block j the
// full model's state and every candidate c < j take block j; candidate j starts from the full state before it.
// So block j serves j + 1 states (the whole-model path's count). Those states lie side by side in one array (slots
// 0..j), so their rows are stacked into calls of `rowsPerCall` rows: block j runs ⌈(j + 1)·P / rowsPerCall⌉
// times per pass of P rows, not j + 1 times per batch (each call re-reads and re-packs the block's weights, which
// cost as much as a small call's compute). The L + 1 states meet the head together, stacked alike, each head
// chunk read once for all of them. Every row is computed as it would be alone, so scores equal the unstacked
// ones to float32 rounding.
import type { Calibration } from "../importance/calibration.js";
import { shiftedTargets } from "../models/targets.js";
import type { HiddenRows, StreamedModel } from "./streamed-model.js";

/** Tokens beyond which stacking more rows into one block call saves nothing: at 2048 tokens a 7B block's
 *  compute (2 · 2048 · 202M FLOP) dwarfs feeding and packing its 0.8 GB of weights, so larger calls would only
 *  hold more activations. */
export const STACKED_TOKENS_PER_CALL = 2048;

export interface StreamedCriterionOptions {
  batchSize: number;
  rowsPerPass: number;
  /** PPL criterion: rows one block or head call takes, stacked across candidates (default batchSize); the
   *  plan's rowsPerCall, which counts their activations */
  rowsPerCall?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

interface PassBatch {
  ids: number[];
  h: HiddenRows;
}

/** The rows of each pass, cut into batches and embedded. */
function* passes(model: StreamedModel, calib: Calibration, o: StreamedCriterionOptions) {
  const T = calib.seqLen;
  const perPass = Math.max(o.batchSize, o.rowsPerPass);
  for (let p0 = 0; p0 < calib.rows; p0 += perPass) {
    const batches: PassBatch[] = [];
    for (let r0 = p0; r0 < Math.min(calib.rows, p0 + perPass); r0 += o.batchSize) {
      const B = Math.min(o.batchSize, calib.rows - r0, p0 + perPass - r0);
      const ids = calib.flat.slice(r0 * T, (r0 + B) * T);
      batches.push({ ids, h: model.embed(ids, B, T) });
    }
    yield batches;
  }
}

export async function streamedPplCriterion(
  model: StreamedModel,
  calib: Calibration,
  o: StreamedCriterionOptions,
): Promise<{ baseSum: number; blockSums: Float64Array }> {
  const L = model.numLayers;
  const T = calib.seqLen;
  const S = T * model.arch.hiddenSize; // floats per row
  const perPass = Math.max(o.batchSize, o.rowsPerPass);
  const perCall = Math.max(1, o.rowsPerCall ?? o.batchSize);
  const blockSums = new Float64Array(L);
  let baseSum = 0;
  let done = 0;
  for (let p0 = 0; p0 < calib.rows; p0 += perPass) {
    const P = Math.min(perPass, calib.rows - p0);
    const ids = calib.flat.slice(p0 * T, (p0 + P) * T);
    // slot 0: the full model; slot c + 1: the model without block c. Each slot holds the pass's P rows.
    const states = new Float32Array((L + 1) * P * S);
    states.set(model.embed(ids, P, T).data);
    for (let j = 0; j < L; j++) {
      // "without j" resumes from the full model's state entering block j
      states.copyWithin((j + 1) * P * S, 0, P * S);
      model.loadBlock(j);
      // the states through block j (full model, without c < j) are slots 0..j: contiguous rows
      for (let r0 = 0; r0 < (j + 1) * P; r0 += perCall) {
        o.signal?.throwIfAborted();
        const n = Math.min(perCall, (j + 1) * P - r0);
        const h = { batch: n, seqLen: T, data: states.subarray(r0 * S, (r0 + n) * S) };
        states.set((await model.runBlock(j, h)).data, r0 * S);
      }
      done += P;
      o.onProgress?.(done, calib.rows * L);
    }
    const sums = await stackedNllSums(model, states, (L + 1) * P, ids, P, T, perCall);
    for (let k = 0; k <= L; k++) {
      let s = 0;
      for (let r = 0; r < P; r++) s += sums[k * P + r]!;
      if (k === 0) baseSum += s;
      else blockSums[k - 1] += s;
    }
  }
  return { baseSum, blockSums };
}

/** Σ of the T−1 next-token NLLs of each of `rows` stacked rows; row r is the pass's row r mod P. */
async function stackedNllSums(
  model: StreamedModel,
  states: Float32Array,
  rows: number,
  ids: number[],
  P: number,
  T: number,
  perCall: number,
): Promise<Float64Array> {
  const S = T * model.arch.hiddenSize;
  const passTargets = shiftedTargets(ids, P, T);
  const sets: { h: HiddenRows; targets: Int32Array }[] = [];
  for (let r0 = 0; r0 < rows; r0 += perCall) {
    const n = Math.min(perCall, rows - r0);
    const targets = new Int32Array(n * T);
    for (let r = 0; r < n; r++)
      targets.set(passTargets.subarray(((r0 + r) % P) * T, (((r0 + r) % P) + 1) * T), r * T);
    sets.push({ h: { batch: n, seqLen: T, data: states.subarray(r0 * S, (r0 + n) * S) }, targets });
  }
  // each head chunk is read once for all the sets
  const nll = await model.headNll(sets);
  const sums = new Float64Array(rows);
  nll.forEach((x, k) => {
    const r0 = k * perCall;
    for (let r = 0; r < sets[k]!.h.batch; r++) {
      let s = 0;
      for (let t = 0; t < T - 1; t++) s += x[r * T + t]!;
      sums[r0 + r] = s;
    }
  });
  return sums;
}

/** Calls `visit(l, states)` with the hidden states entering block l (l = L: the last block's output), for
 *  every pass of rows; the states are those of the pass's batches. */
export async function streamedBoundaries(
  model: StreamedModel,
  calib: Calibration,
  o: StreamedCriterionOptions,
  visit: (l: number, states: HiddenRows[]) => void,
): Promise<void> {
  let done = 0;
  for (const batches of passes(model, calib, o)) {
    let states = batches.map((b) => b.h);
    visit(0, states);
    for (let l = 0; l < model.numLayers; l++) {
      model.loadBlock(l);
      const next: HiddenRows[] = [];
      for (const h of states) {
        o.signal?.throwIfAborted();
        next.push(await model.runBlock(l, h));
      }
      states = next;
      visit(l + 1, states);
    }
    done += batches.reduce((s, b) => s + b.h.batch, 0);
    o.onProgress?.(done, calib.rows);
  }
}
