// The factor GPTQ's column updates use: U = upper Cholesky factor of H⁻¹ (AutoGPTQ: cholesky → cholesky_inverse
// → cholesky(upper)). Computed here in float64 on the host with one Cholesky and one triangular inverse instead
// of three factorizations: with H = V Vᵀ, V upper triangular (the Cholesky factor of H "from the bottom", i.e.
// V = P L P with L = chol(P H P) and P the reversal), H⁻¹ = V⁻ᵀ V⁻¹ = Uᵀ U with U = V⁻¹ upper — the same unique
// factor. Rows are contiguous in both loops (row-major), 2n³/3 flops in all.

/** U (row-major [n, n], upper) with Uᵀ U = H⁻¹, or null when H is not positive definite. H is not changed. */
export function upperCholeskyOfInverse(H: Float64Array, n: number): Float64Array | null {
  // L = chol(P H P): (P H P)[i][j] = H[n−1−i][n−1−j]
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const hi = (n - 1 - i) * n + (n - 1);
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = H[hi - j]!;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[ri + i] = Math.sqrt(s);
      } else {
        L[ri + j] = s / L[rj + j]!;
      }
    }
  }
  // X = L⁻¹ (lower), row by row: X[i] = (e_i − Σ_{k<i} L[i][k] X[k]) / L[i][i]
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let k = 0; k < i; k++) {
      const l = L[ri + k]!;
      if (l === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) X[ri + j]! -= l * X[rk + j]!;
    }
    X[ri + i] = 1;
    const d = L[ri + i]!;
    for (let j = 0; j <= i; j++) X[ri + j]! /= d;
  }
  // U = P X P
  const U = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = a; b < n; b++) U[a * n + b] = X[(n - 1 - a) * n + (n - 1 - b)]!;
  return U;
}
