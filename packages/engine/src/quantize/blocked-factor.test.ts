// The blocked factor of H⁻¹ (ORT float64 Gemms between host-factored diagonal blocks) against the unblocked host
// reference and against its definition Uᵀ U H = I, for leaves that do and do not divide n; a matrix that is not
// positive definite is refused.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BlockedFactor } from "./blocked-factor.js";
import { upperCholeskyOfInverseInPlace } from "./cholesky.js";

/** X Xᵀ + n·I·ε for a random X [n, 2n] (seeded): symmetric positive definite, condition like a Hessian's. */
function spd(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const k = 2 * n;
  const X = Float64Array.from({ length: n * k }, rand);
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let d = 0;
      for (let t = 0; t < k; t++) d += X[i * k + t]! * X[j * k + t]!;
      H[i * n + j] = d;
      H[j * n + i] = d;
    }
  for (let i = 0; i < n; i++) H[i * n + i]! += 0.01;
  return H;
}

function maxRel(a: Float64Array, b: Float64Array): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst / scale;
}

describe("blocked factor of H⁻¹", () => {
  const factors = new Map<number, BlockedFactor>();
  before(async () => {
    for (const leaf of [7, 32, 128]) factors.set(leaf, await BlockedFactor.open({ leaf, threads: 1 }));
  });
  after(async () => {
    for (const f of factors.values()) await f.release();
  });

  for (const [n, leaf] of [
    [200, 32],
    [203, 7],
    [96, 128],
    [300, 128],
  ] as const)
    test(`n = ${n}, leaf ${leaf}: equals the unblocked factor, upper, Uᵀ U H = I`, async () => {
      const H = spd(n, n + leaf);
      const ref = H.slice();
      assert.ok(upperCholeskyOfInverseInPlace(ref, n));
      const U = H.slice();
      assert.ok(await factors.get(leaf)!.upperCholeskyOfInverseInPlace(U, n));
      assert.ok(maxRel(U, ref) < 1e-10, `max rel ${maxRel(U, ref)}`);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(U[i * n + j], 0, `U[${i}][${j}]`);
      // (Uᵀ U) H = I, (Uᵀ U)[i][j] = Σ_{k ≤ i, j} U[k][i] U[k][j]
      const UtU = new Float64Array(n * n);
      for (let k = 0; k < n; k++)
        for (let i = k; i < n; i++) {
          const u = U[k * n + i]!;
          for (let j = k; j < n; j++) UtU[i * n + j]! += u * U[k * n + j]!;
        }
      let worst = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let d = 0;
          for (let k = 0; k < n; k++) d += UtU[i * n + k]! * H[k * n + j]!;
          worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
        }
      assert.ok(worst < 1e-8, `|Uᵀ U H − I| ${worst}`);
    });

  test("a matrix that is not positive definite (in a later block) is refused", async () => {
    const n = 100;
    const H = spd(n, 5);
    H[90 * n + 90] = -1;
    assert.equal(await factors.get(32)!.upperCholeskyOfInverseInPlace(H.slice(), n), false);
    const rankOne = new Float64Array(n * n).fill(1);
    assert.equal(await factors.get(7)!.upperCholeskyOfInverseInPlace(rankOne, n), false);
  });
});
