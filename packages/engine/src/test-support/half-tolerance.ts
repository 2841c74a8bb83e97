// Tolerances of float16 compute against the float64 oracle (README "Compute dtype"), and order checks that skip
// near-ties.
//
// u = 2^-11 is float16's unit roundoff. A float16 graph rounds each MatMul's two operands and its product (3
// roundings, accumulation in float32); from the embedding to the logits a token's value passes D = 6L + 2 MatMuls
// in sequence (per block: a projection, q·kᵀ, p·v and o_proj in attention, gate/up and down in the MLP; then the
// head, plus the embedding's own rounding). Roundings of either sign add like a random walk: the relative error
// of a logit is about u·√(3D)/√3 = u·√D, and we allow 4 of those, 4u√D, on every quantity that is a mean NLL or
// a perplexity ratio (|Δ exp(x)|/exp(x) ≈ |Δx|, logits of order 1 in the fixtures). Backward graphs (Taylor+, LoRA)
// pass the chain twice: 4u√(2D).
import assert from "node:assert/strict";

export const HALF_UNIT_ROUNDOFF = 2 ** -11;

export function halfTolerance(layers: number, backward = false): number {
  const D = 6 * layers + 2;
  return 4 * HALF_UNIT_ROUNDOFF * Math.sqrt(backward ? 2 * D : D);
}

/** Our scores order every pair of blocks as the oracle's do, wherever the oracle's two scores differ by more
 *  than 2·tol relative (closer pairs are near-ties that float16 may swap); returns the near-tie pairs skipped. */
export function assertOrderWhereSeparated(
  ours: readonly number[],
  oracle: readonly number[],
  tol: number,
  what: string,
): number {
  let ties = 0;
  for (let i = 0; i < oracle.length; i++) {
    for (let j = i + 1; j < oracle.length; j++) {
      const a = oracle[i]!;
      const b = oracle[j]!;
      if (Math.abs(a - b) <= 2 * tol * Math.max(Math.abs(a), Math.abs(b))) {
        ties++;
        continue;
      }
      assert.equal(ours[i]! < ours[j]!, a < b, `${what}: blocks ${i} and ${j} swap (oracle ${a} vs ${b})`);
    }
  }
  return ties;
}
