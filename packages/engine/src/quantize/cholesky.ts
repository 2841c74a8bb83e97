// The factor GPTQ's column updates use: U = upper Cholesky factor of H⁻¹ (AutoGPTQ: cholesky → cholesky_inverse
// → cholesky(upper)), with one Cholesky and one triangular inverse instead of three factorizations: with
// H = V Vᵀ, V upper triangular (the Cholesky factor of H "from the bottom", i.e. V = P L P with L = chol(P H P)
// and P the reversal), H⁻¹ = V⁻ᵀ V⁻¹ = Uᵀ U with U = V⁻¹ upper — the same unique factor. P M P of a row-major
// matrix is its flat array reversed, so everything happens in the one n × n buffer. The large products run in
// ONNX Runtime (./blocked-factor.ts); this file holds the host kernel for the small diagonal blocks and the
// unblocked reference.

/** Overwrites `A` (row-major [n, n], symmetric positive definite, only the lower triangle read) with X = L⁻¹,
 *  L = chol(A) lower, its upper triangle zeroed; false (A then garbage) when A is not positive definite. */
export function lowerCholeskyInverseInPlace(A: Float64Array, n: number): boolean {
  // Cholesky, lower, in place: L[i][j] = (A[i][j] − Σ_{k<j} L[i][k] L[j][k]) / L[j][j]
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = A[ri + j]!;
      for (let k = 0; k < j; k++) s -= A[ri + k]! * A[rj + k]!;
      if (i === j) {
        if (!(s > 0)) return false;
        A[ri + i] = Math.sqrt(s);
      } else {
        A[ri + j] = s / A[rj + j]!;
      }
    }
    A.fill(0, ri + i + 1, ri + n);
  }
  // X = L⁻¹ (lower), row by row over the rows of X already made: X[i] = (e_i − Σ_{k<i} L[i][k] X[k]) / L[i][i]
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    row.fill(0, 0, i + 1);
    for (let k = 0; k < i; k++) {
      const l = A[ri + k]!;
      if (l === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) row[j]! -= l * A[rk + j]!;
    }
    row[i] = 1;
    const d = A[ri + i]!;
    for (let j = 0; j <= i; j++) A[ri + j] = row[j]! / d;
  }
  return true;
}

/** Unblocked reference (host only, 2n³/3 flops): overwrites `A` (row-major [n, n], symmetric positive definite)
 *  with U, upper, Uᵀ U = A⁻¹; false (A then garbage) when A is not positive definite. */
export function upperCholeskyOfInverseInPlace(A: Float64Array, n: number): boolean {
  A.reverse(); // P A P
  if (!lowerCholeskyInverseInPlace(A, n)) return false;
  A.reverse(); // U = P X P
  return true;
}
