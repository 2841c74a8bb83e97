// Per-row NLL sums of equal-length token rows, block-streamed: the rows of a pass are embedded, then every block
// is read once and applied to all of them, batch by batch, then the head. Removed blocks (gate 0) are not read.
import { shiftedTargets } from "../models/targets.js";
import type { HiddenRows, StreamedModel } from "./streamed-model.js";

export interface StreamedRowsOptions {
  /** rows per forward call */
  batchSize: number;
  /** rows that share one read of every block */
  rowsPerPass: number;
  /** one per block; 0 leaves the block out */
  gates?: Float32Array;
  signal?: AbortSignal;
  onBatch?: (rowsDone: number) => void;
}

/** Σ of the T−1 next-token NLLs of each row, for rows flattened [nRows, seqLen] (as ForwardSession.rowNllSums). */
export async function streamedRowNllSums(
  model: StreamedModel,
  rows: ArrayLike<number>,
  nRows: number,
  seqLen: number,
  opts: StreamedRowsOptions,
): Promise<Float64Array> {
  const sums = new Float64Array(nRows);
  const bs = Math.max(1, opts.batchSize);
  const perPass = Math.max(bs, opts.rowsPerPass);
  for (let p0 = 0; p0 < nRows; p0 += perPass) {
    const batches: { r0: number; ids: number[]; h: HiddenRows }[] = [];
    for (let r0 = p0; r0 < Math.min(nRows, p0 + perPass); r0 += bs) {
      const B = Math.min(bs, nRows - r0, p0 + perPass - r0);
      const ids = Array.prototype.slice.call(rows, r0 * seqLen, (r0 + B) * seqLen) as number[];
      batches.push({ r0, ids, h: model.embed(ids, B, seqLen) });
    }
    for (let i = 0; i < model.numLayers; i++) {
      if (opts.gates && opts.gates[i] === 0) continue;
      model.loadBlock(i);
      for (const b of batches) {
        opts.signal?.throwIfAborted();
        b.h = await model.runBlock(i, b.h);
      }
    }
    const nll = await model.headNll(
      batches.map((b) => ({ h: b.h, targets: shiftedTargets(b.ids, b.h.batch, seqLen) })),
    );
    batches.forEach((b, k) => {
      for (let r = 0; r < b.h.batch; r++) {
        let s = 0;
        for (let t = 0; t < seqLen - 1; t++) s += nll[k]![r * seqLen + t]!;
        sums[b.r0 + r] = s;
      }
      opts.onBatch?.(b.r0 + b.h.batch);
    });
  }
  return sums;
}
