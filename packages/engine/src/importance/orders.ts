// Removal orders from per-block scores (lower score = less important = removed first).

/** Stable ascending sort of the indices, as Python's sorted(enumerate(scores), key=score) does. */
export function stableOrder(scores: readonly number[]): number[] {
  return scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([, i]) => i);
}

/** The "+" heuristic of block_prune.py: never remove the first `keepFirst` or the last `keepLast` blocks.
 *  With groups of n contiguous blocks (angular), a start l is dropped when [l, l+n) touches the kept set. */
export function plusOrder(
  order: readonly number[],
  numLayers: number,
  keepFirst = 4,
  keepLast = 2,
  n = 1,
): number[] {
  const kept = (b: number) => b < keepFirst || b >= numLayers - keepLast;
  return order.filter((l) => {
    for (let b = l; b < l + n; b++) if (kept(b)) return false;
    return true;
  });
}
