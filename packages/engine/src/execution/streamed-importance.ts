// Forward importance criteria, block-streamed in block-major order: each block is read once per pass of
// calibration rows and applied to every state that still needs it.
//
// PPL criterion with prefix reuse: "remove block c" resumes the model from h_c (block c's input). At block j the
// full model's state and every candidate c < j take block j; candidate j starts from the full state before it.
// So block j runs j + 1 times (the whole-model path's count), and the L + 1 states meet the head together, each
// head chunk read once for all of them.
import type { Calibration } from "../importance/calibration.js";
import { shiftedTargets } from "../models/targets.js";
import type { HiddenRows, StreamedModel } from "./streamed-model.js";

export interface StreamedCriterionOptions {
  batchSize: number;
  rowsPerPass: number;
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
  const blockSums = new Float64Array(L);
  let baseSum = 0;
  let done = 0;
  const total = calib.rows * L;
  for (const batches of passes(model, calib, o)) {
    const base = batches.map((b) => b.h);
    const candidates: HiddenRows[][] = [];
    for (let j = 0; j < L; j++) {
      candidates.push([...base]);
      model.loadBlock(j);
      for (const states of [base, ...candidates.slice(0, j)]) {
        for (let k = 0; k < states.length; k++) {
          o.signal?.throwIfAborted();
          states[k] = await model.runBlock(j, states[k]!);
        }
      }
      done += batches.reduce((s, b) => s + b.h.batch, 0);
      o.onProgress?.(done, total);
    }
    const sets = [base, ...candidates].flatMap((states) =>
      states.map((h, k) => ({ h, targets: shiftedTargets(batches[k]!.ids, h.batch, T) })),
    );
    const nll = await model.headNll(sets);
    const sumOf = (x: Float32Array, B: number) => {
      let s = 0;
      for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) s += x[b * T + t]!;
      return s;
    };
    nll.forEach((x, k) => {
      const which = Math.floor(k / batches.length) - 1; // −1: the full model
      const s = sumOf(x, sets[k]!.h.batch);
      if (which < 0) baseSum += s;
      else blockSums[which] += s;
    });
  }
  return { baseSum, blockSums };
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
