// Next-token targets for the fused NLL output of the forward graph.

/** HF causal-LM targets for rows [B, T]: position t predicts token t+1; the last position gets a dummy 0
 *  (its NLL is not used). */
export function shiftedTargets(ids: ArrayLike<number>, batch: number, seqLen: number): Int32Array {
  const t = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < seqLen - 1; i++) t[b * seqLen + i] = ids[b * seqLen + i + 1]!;
  }
  return t;
}
