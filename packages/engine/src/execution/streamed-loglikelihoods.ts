// Zero-shot loglikelihoods block-streamed: the harness's request rows are packed into the same batches as the
// whole-model path (../eval/zeroshot/loglikelihood.ts); the batches of a pass (up to a token budget) are
// embedded, every block is read once and applied to each batch, and the head chunks serve them all. The head reads
// only the positions that score a continuation (as the whole-model shared-context head), not contexts or padding.
import { UserError } from "@shortened/contracts";
import type { TokenRequest } from "@shortened/hf";
import {
  type LoglikelihoodOptions,
  type PackedBatch,
  packRequests,
  recordBatch,
} from "../eval/zeroshot/loglikelihood.js";
import type { HiddenRows, StreamedModel } from "./streamed-model.js";

export interface StreamedLoglikelihoodOptions extends LoglikelihoodOptions {
  /** tokens (rows × padded length) whose hidden states a pass keeps: every block is read once per pass */
  tokensPerPass: number;
}

export async function streamedLoglikelihoods(
  model: StreamedModel,
  requests: TokenRequest[],
  opts: StreamedLoglikelihoodOptions,
): Promise<number[]> {
  const out: number[] = new Array(requests.length);
  const batches = packRequests(requests, opts);
  let done = 0;
  for (let i = 0; i < batches.length; ) {
    const pass: { batch: PackedBatch; h: HiddenRows }[] = [];
    let tokens = 0;
    do {
      const batch = batches[i++]!;
      tokens += batch.B * batch.T;
      pass.push({ batch, h: model.embed(batch.ids, batch.B, batch.T) });
    } while (i < batches.length && tokens + batches[i]!.B * batches[i]!.T <= opts.tokensPerPass);
    for (let l = 0; l < model.numLayers; l++) {
      model.loadBlock(l);
      for (const p of pass) {
        if (opts.signal?.aborted) throw new UserError("cancelled", "zero-shot evaluation cancelled");
        p.h = await model.runBlock(l, p.h);
      }
    }
    const scored = pass.map((p) => scoredPositions(p.batch, p.h));
    const nll = await model.headNll(scored.map(({ h, targets }) => ({ h, targets })));
    pass.forEach((p, k) => {
      // back to the batch's [B, T] layout; unscored positions are never read
      const full = new Float32Array(p.batch.B * p.batch.T);
      scored[k]!.positions.forEach((at, i) => {
        full[at] = nll[k]![i]!;
      });
      done += recordBatch(p.batch, full, out);
    });
    opts.onBatch?.(done, requests.length);
  }
  return out;
}

/** The hidden states [1, N] and targets of a batch's scored positions (each row's continuation, flat b·T + t). */
export function scoredPositions(
  batch: PackedBatch,
  h: HiddenRows,
): { h: HiddenRows; targets: Int32Array; positions: number[] } {
  const H = h.data.length / (h.batch * h.seqLen);
  const positions: number[] = [];
  batch.rows.forEach((row, b) => {
    for (let t = row.start; t < row.ids.length - 1; t++) positions.push(b * batch.T + t);
  });
  const data = new Float32Array(positions.length * H);
  const targets = new Int32Array(positions.length);
  positions.forEach((at, k) => {
    data.set(h.data.subarray(at * H, (at + 1) * H), k * H);
    targets[k] = batch.targets[at]!;
  });
  return { h: { batch: 1, seqLen: positions.length, data }, targets, positions };
}
