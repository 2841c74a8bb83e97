// GPTQ of one linear (AutoGPTQ `GPTQ.fasterquant`, see ../shared/oracle README "gptq"), in float64 on the host
// except the lazy batch updates after each block of columns (./trailing-update.ts) and the products of the
// blocked factor of H⁻¹ (./blocked-factor.ts), which run in ONNX Runtime. The Hessian's preparation (dead inputs, act-order permutation, damping with
// retries, factor) depends on H only, so linears that share their input (k, v, q; up, gate) share it.
import { UserError } from "@shortened/contracts";
import type { BlockedFactor } from "./blocked-factor.js";
import { findParams, type QuantParams, quantCode } from "./quantizer.js";
import type { TrailingUpdate } from "./trailing-update.js";

export interface GptqSettings {
  method: "gptq" | "rtn";
  bits: number;
  /** −1: one group per output row */
  groupSize: number;
  actOrder: boolean;
  staticGroups: boolean;
  sym: boolean;
  /** damp_percent: damping = damp · mean(diag H) */
  damp: number;
  /** columns per lazy batch update (AutoGPTQ: 128; its group parameters depend on it) */
  blockSize: number;
  /** blocks whose errors reach the columns after them in one product (default 8; 1: after every block, as
   *  AutoGPTQ; the result is the same sum in another order) */
  spanBlocks?: number;
  /** round each scale to float16 when it is computed (the oracle's --fp16-scales 1) rather than when packing */
  fp16Scales: boolean;
  /** damping retries after a failed factorization, each adding `dampStep` to damp_percent (GPTQModel's
   *  damp_auto_increment) */
  dampRetries: number;
  dampStep: number;
}

/** H prepared for the column loop (shared by the linears that read the same input). */
export interface PreparedHessian {
  n: number;
  /** inputs in quantization order (identity without act-order) */
  perm: Int32Array;
  dead: Uint8Array;
  /** upper Cholesky factor of (H + damp·I)⁻¹, permuted, row-major [n, n] */
  U: Float64Array;
  hessianTrace: number;
  /** damping added to the diagonal, and the damp_percent that gave it */
  damp: number;
  dampPercent: number;
  retries: number;
  /** the damped, permuted H (RTN only: its loss is the quadratic ½ Δ H Δᵀ) */
  damped: Float64Array | null;
}

export async function prepareHessian(
  H: Float64Array,
  n: number,
  s: GptqSettings,
  name: string,
  factor: BlockedFactor,
): Promise<PreparedHessian> {
  let trace = 0;
  for (let j = 0; j < n; j++) trace += H[j * n + j]!;
  const dead = new Uint8Array(n);
  const diag = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    diag[j] = H[j * n + j]!;
    if (diag[j] === 0) {
      dead[j] = 1;
      diag[j] = 1;
    }
  }
  const perm = Int32Array.from({ length: n }, (_, j) => j);
  if (s.actOrder) perm.sort((a, b) => diag[b]! - diag[a]! || a - b);
  let mean = 0;
  for (let j = 0; j < n; j++) mean += diag[j]!;
  mean /= n;
  // the permuted, damped H is made afresh for each try (no second n × n copy kept for the retries)
  const U = new Float64Array(n * n);
  for (let retries = 0; retries <= s.dampRetries; retries++) {
    const dampPercent = s.damp + retries * s.dampStep;
    const damp = dampPercent * mean;
    for (let a = 0; a < n; a++) {
      const ra = perm[a]! * n;
      for (let b = 0; b < n; b++) U[a * n + b] = H[ra + perm[b]!]!;
      U[a * n + a] = (dead[perm[a]!] ? 1 : U[a * n + a]!) + damp;
    }
    const Hd = s.method === "rtn" ? U.slice() : null;
    if (await factor.upperCholeskyOfInverseInPlace(U, n))
      return {
        n,
        perm,
        dead,
        U,
        hessianTrace: trace,
        damp,
        dampPercent,
        retries,
        damped: Hd,
      };
  }
  throw new UserError(
    "invalid_data",
    `the Hessian of ${name} stays singular after ${s.dampRetries} damping retries (damp_percent up to ${
      s.damp + s.dampRetries * s.dampStep
    }); give more or longer calibration rows, or a larger damp`,
  );
}

export interface QuantizedLinearResult {
  /** codes [in, out] (original input order) */
  codes: Uint8Array;
  /** [G, out], float64 (rounded to float16 when written) */
  scales: Float64Array;
  zeros: Uint8Array;
  gIdx: Int32Array;
  groups: number;
  /** the quantized weights [out, in] as the algorithm used them (scale·(q − zero)), for the next forwards */
  weights: Float32Array;
  /** GPTQ's sum of Losses (½ Σ (w − q)²/U_cc²); RTN: ½ Σ_rows (w − q) H_damped (w − q)ᵀ, which GPTQ's equals in
   *  exact arithmetic (the oracle's loss_quadratic) */
  loss: number;
}

/** GPTQ (or RTN: the same loop without the error feedback) of W [out, in] row-major float32. */
export async function quantizeLinear(
  W: Float32Array,
  out: number,
  prep: PreparedHessian,
  s: GptqSettings,
  update: TrailingUpdate,
): Promise<QuantizedLinearResult> {
  const n = prep.n;
  const { perm, U } = prep;
  const gs = s.groupSize;
  const maxq = 2 ** s.bits - 1;
  const G = gs === -1 ? 1 : Math.ceil(n / gs);
  // Wt [in, out] in quantization order: row c is input perm[c]
  const Wt = new Float64Array(n * out);
  for (let c = 0; c < n; c++) {
    const j = perm[c]!;
    for (let o = 0; o < out; o++) Wt[c * out + o] = W[o * n + j]!;
  }
  const groupParams: QuantParams[] = new Array(G);
  // group −1: the row parameters from the whole W, before dead inputs are zeroed
  if (gs === -1) groupParams[0] = findParams(Wt, out, 0, n, s.bits, s.sym, s.fp16Scales);
  for (let c = 0; c < n; c++) if (prep.dead[perm[c]!]) Wt.fill(0, c * out, (c + 1) * out);
  let staticParams: QuantParams[] | null = null;
  if (gs !== -1 && s.staticGroups) {
    // groups of consecutive original inputs, from W now (dead zeroed): rows of Wt in original order
    const orig = new Float64Array(n * out);
    for (let c = 0; c < n; c++) orig.set(Wt.subarray(c * out, (c + 1) * out), perm[c]! * out);
    staticParams = [];
    for (let g = 0; g < G; g++)
      staticParams.push(
        findParams(orig, out, g * gs, Math.min((g + 1) * gs, n), s.bits, s.sym, s.fp16Scales),
      );
    for (let g = 0; g < G; g++) groupParams[g] = staticParams[g]!;
  }
  const codes = new Uint8Array(n * out);
  const weights = new Float32Array(out * n);
  const gIdx = new Int32Array(n);
  let loss = 0;
  let params = groupParams[0]!;
  // RTN: Δ = w − q in quantization order [out, n] for its quadratic loss
  const delta = s.method === "rtn" ? new Float64Array(out * n) : null;
  // Two levels of lazy updates: after each block of `blockSize` columns only the columns up to the end of its
  // span of `spanBlocks` blocks are updated; the columns after the span get the span's errors in one product
  // (the same sum, in another order: a few long products instead of one per block over the whole tail). A group
  // whose parameters are computed in a block reads columns ahead, which must have every finished block's errors
  // as in AutoGPTQ: a span never ends inside the group (it is closed early, or stretched to the group's end).
  const span = s.blockSize * Math.max(1, s.spanBlocks ?? 8);
  const dynamicGroups = gs !== -1 && !s.staticGroups;
  let spanStart = 0;
  let spanEnd = 0;
  let spanErr = new Float64Array(0);
  for (let i1 = 0; i1 < n; i1 += s.blockSize) {
    const i2 = Math.min(i1 + s.blockSize, n);
    const b = i2 - i1;
    // the furthest column a group starting in this block reads
    let reads = i2;
    if (dynamicGroups)
      for (let c = Math.ceil(i1 / gs) * gs; c < i2; c += gs) reads = Math.max(reads, Math.min(c + gs, n));
    if (i1 >= spanEnd || reads > spanEnd) {
      // the finished blocks of the span reach the columns after it
      if (s.method === "gptq" && i1 > spanStart && i1 < spanEnd)
        await update.apply(
          Wt,
          U,
          n,
          out,
          spanStart,
          i1,
          spanErr.subarray(0, (i1 - spanStart) * out),
          spanEnd,
        );
      spanStart = i1;
      const want = Math.max(i1 + span, Math.ceil((reads - i1) / s.blockSize) * s.blockSize + i1);
      spanEnd = Math.min(want, n);
      spanErr = new Float64Array((spanEnd - i1) * out);
    }
    const W1 = Wt.slice(i1 * out, i2 * out);
    const err1 = spanErr.subarray((i1 - spanStart) * out, (i2 - spanStart) * out);
    for (let i = 0; i < b; i++) {
      const c = i1 + i;
      const j = perm[c]!;
      if (gs !== -1) {
        if (staticParams) params = staticParams[Math.floor(j / gs)]!;
        else if (c % gs === 0) {
          params = findParams(Wt, out, c, Math.min(c + gs, n), s.bits, s.sym, s.fp16Scales);
          groupParams[c / gs] = params;
        }
      }
      gIdx[j] = gs === -1 ? 0 : s.staticGroups ? Math.floor(j / gs) : Math.floor(c / gs);
      const d = U[c * n + c]!;
      const row = i * out;
      for (let o = 0; o < out; o++) {
        const w = W1[row + o]!;
        const sc = params.scale[o]!;
        const z = params.zero[o]!;
        const q = quantCode(w, sc, z, maxq);
        const v = sc * (q - z);
        codes[j * out + o] = q;
        weights[o * n + j] = v;
        const e = (w - v) / d;
        loss += (e * e) / 2;
        err1[row + o] = e;
        if (delta) delta[o * n + c] = w - v;
      }
      if (s.method === "rtn") continue;
      // W1[:, k] −= err · U[c, i1 + k] for the block's later columns
      for (let k = i + 1; k < b; k++) {
        const h = U[c * n + i1 + k]!;
        if (h === 0) continue;
        const rk = k * out;
        for (let o = 0; o < out; o++) W1[rk + o]! -= h * err1[row + o]!;
      }
    }
    if (s.method === "gptq") {
      await update.apply(Wt, U, n, out, i1, i2, err1, i2, spanEnd);
      if (i2 === spanEnd) await update.apply(Wt, U, n, out, spanStart, spanEnd, spanErr, spanEnd);
    }
  }
  if (delta) loss = await update.halfQuadratic(delta, prep.damped!, out, n);
  const scales = new Float64Array(G * out);
  const zeros = new Uint8Array(G * out);
  for (let g = 0; g < G; g++) {
    scales.set(groupParams[g]!.scale, g * out);
    for (let o = 0; o < out; o++) zeros[g * out + o] = groupParams[g]!.zero[o]!;
  }
  return { codes, scales, zeros, gIdx, groups: G, weights, loss };
}
