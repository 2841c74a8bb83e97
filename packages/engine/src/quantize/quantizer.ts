// AutoGPTQ's `Quantizer` (find_params with weight=True, quantize), per output row of a column group, in float64.
// See ../shared/oracle README "gptq": xmin = min(min w, 0), xmax = max(max w, 0); sym: xmax = max(|xmin|, xmax) and
// xmin = −xmax only where xmin < 0; both 0: −1, +1; scale = (xmax − xmin)/maxq; zero = (maxq+1)/2 (sym) or
// round(−xmin/scale); q = clamp(round(w/scale) + zero, 0, maxq) with round half to even.

export interface QuantParams {
  /** one per output row */
  scale: Float64Array;
  zero: Float64Array;
}

/** torch.round: half to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** float64 → nearest float16 value (ties to even), as numpy's astype(float16) rounds. */
export function roundToHalf(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Number.POSITIVE_INFINITY;
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  // log2 may be off by one at powers of two; fix the exponent so a ∈ [2^e, 2^(e+1))
  const exp = a < 2 ** e && e > -14 ? e - 1 : a >= 2 ** (e + 1) ? e + 1 : e;
  const ulp = 2 ** (exp - 10);
  return Math.sign(x) * roundHalfEven(a / ulp) * ulp;
}

/** Parameters of each row from the values of columns [c0, c1) of `wt`, stored transposed [in, out] (row j =
 *  input column j, contiguous over the `out` rows). */
export function findParams(
  wt: Float64Array,
  out: number,
  c0: number,
  c1: number,
  bits: number,
  sym: boolean,
  fp16Scales: boolean,
): QuantParams {
  const maxq = 2 ** bits - 1;
  const xmin = new Float64Array(out);
  const xmax = new Float64Array(out);
  for (let c = c0; c < c1; c++) {
    const row = c * out;
    for (let o = 0; o < out; o++) {
      const v = wt[row + o]!;
      if (v < xmin[o]!) xmin[o] = v;
      if (v > xmax[o]!) xmax[o] = v;
    }
  }
  const scale = new Float64Array(out);
  const zero = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let lo = xmin[o]!;
    let hi = xmax[o]!;
    if (sym) {
      hi = Math.max(Math.abs(lo), hi);
      if (lo < 0) lo = -hi;
    }
    if (lo === 0 && hi === 0) {
      lo = -1;
      hi = 1;
    }
    let s = (hi - lo) / maxq;
    if (fp16Scales) s = roundToHalf(s);
    scale[o] = s;
    zero[o] = sym ? (maxq + 1) / 2 : roundHalfEven(-lo / s);
  }
  return { scale, zero };
}

/** The code of w in row o. */
export function quantCode(w: number, scale: number, zero: number, maxq: number): number {
  const q = roundHalfEven(w / scale) + zero;
  return q < 0 ? 0 : Math.min(q, maxq);
}
