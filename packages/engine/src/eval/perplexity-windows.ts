// Cutting a token stream into evaluation windows, as the paper's dataset.process_data / eval_ppl.py do
// (and the oracle's `ppl`):
//   first: ids' = [BOS] + ids; n = len(ids') // S; window i = ids'[i·S : (i+1)·S]          (S−1 predictions)
//   every: n = len(ids) // S; window i = [BOS] + ids[i·S : (i+1)·S]                          (S predictions)
//   none:  n = len(ids) // S; window i = ids[i·S : (i+1)·S]                                  (S−1 predictions)
// The trailing partial window is dropped.

export type BosPolicy = "first" | "every" | "none";
export const BOS_POLICIES: readonly BosPolicy[] = ["first", "every", "none"];

export interface Windows {
  /** windows, flattened row-major [count, length] */
  flat: number[];
  count: number;
  /** tokens per window: S, or S + 1 with BOS every */
  length: number;
}

export function evaluationWindows(
  ids: readonly number[],
  seqLen: number,
  bos: BosPolicy,
  bosId?: number,
): Windows {
  const stream = bos === "first" ? [bosId!, ...ids] : ids;
  const count = Math.floor(stream.length / seqLen);
  const length = bos === "every" ? seqLen + 1 : seqLen;
  const flat: number[] = [];
  for (let i = 0; i < count; i++) {
    if (bos === "every") flat.push(bosId!);
    for (let t = i * seqLen; t < (i + 1) * seqLen; t++) flat.push(stream[t]!);
  }
  return { flat, count, length };
}
