// The classic GPTQ tensors of one linear (AutoGPTQ `QuantLinear.pack`): integer codes [in, out] packed along `in`
// into `qweight` int32 [in·bits/32, out], zero points [G, out] packed along `out` into `qzeros` int32
// [G, out·bits/32] (v1 "gptq": stored as zero − 1), `scales` float16 [G, out], `g_idx` int32 [in] (each input's
// group). Packing is a little-endian bit stream of 32-bit words per packed line: element i occupies stream bits
// [bits·i, bits·i + bits), so 3-bit values straddle words (inputs 10 and 21 of every 32) as AutoGPTQ writes them.
import type { GptqCheckpointFormat } from "./gptq-config.js";

/** One linear's quantized form, unpacked. `codes` and `zeros` are row-major [in, out] and [G, out]. */
export interface GptqLinear {
  bits: number;
  inFeatures: number;
  outFeatures: number;
  groups: number;
  codes: Uint8Array;
  zeros: Uint8Array;
  /** [G, out], float16 values widened to float32 */
  scales: Float32Array;
  gIdx: Int32Array;
}

/** Packs `values` (row-major [rows, cols], each < 2^bits) along the rows: int32 [rows·bits/32, cols]. */
export function packAlongRows(values: Uint8Array, rows: number, cols: number, bits: number): Int32Array {
  const words = (rows * bits) / 32;
  const out = new Int32Array(words * cols);
  for (let r = 0; r < rows; r++) {
    const bit = r * bits;
    const w = bit >>> 5;
    const shift = bit & 31;
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c]!;
      out[w * cols + c]! |= v << shift;
      if (shift + bits > 32) out[(w + 1) * cols + c]! |= v >>> (32 - shift);
    }
  }
  return out;
}

/** Inverse of packAlongRows. */
export function unpackAlongRows(packed: Int32Array, rows: number, cols: number, bits: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  const mask = (1 << bits) - 1;
  for (let r = 0; r < rows; r++) {
    const bit = r * bits;
    const w = bit >>> 5;
    const shift = bit & 31;
    for (let c = 0; c < cols; c++) {
      let v = packed[w * cols + c]! >>> shift;
      if (shift + bits > 32) v |= packed[(w + 1) * cols + c]! << (32 - shift);
      out[r * cols + c] = v & mask;
    }
  }
  return out;
}

/** Packs `values` (row-major [rows, cols]) along the columns: int32 [rows, cols·bits/32]. */
export function packAlongCols(values: Uint8Array, rows: number, cols: number, bits: number): Int32Array {
  const words = (cols * bits) / 32;
  const out = new Int32Array(rows * words);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c]!;
      const bit = c * bits;
      const w = r * words + (bit >>> 5);
      const shift = bit & 31;
      out[w]! |= v << shift;
      if (shift + bits > 32) out[w + 1]! |= v >>> (32 - shift);
    }
  }
  return out;
}

/** Inverse of packAlongCols. */
export function unpackAlongCols(packed: Int32Array, rows: number, cols: number, bits: number): Uint8Array {
  const words = (cols * bits) / 32;
  const out = new Uint8Array(rows * cols);
  const mask = (1 << bits) - 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const bit = c * bits;
      const w = r * words + (bit >>> 5);
      const shift = bit & 31;
      let v = packed[w]! >>> shift;
      if (shift + bits > 32) v |= packed[w + 1]! << (32 - shift);
      out[r * cols + c] = v & mask;
    }
  }
  return out;
}

/** Stored zero points as readers take them: v1 adds 1 back (an asymmetric zero of 0, stored as −1 and masked to
 *  maxq, comes back as 2^bits, exactly what AutoGPTQ's readers compute), v2 stores the zero itself. */
export function zerosFromStored(stored: Uint8Array, format: GptqCheckpointFormat): Uint8Array {
  if (format === "gptq_v2") return stored;
  const out = new Uint8Array(stored.length);
  for (let i = 0; i < stored.length; i++) out[i] = stored[i]! + 1;
  return out;
}

/** Zero points as stored: v1 subtracts 1 (masked to the field, as AutoGPTQ's `pack` leaves it). */
export function zerosToStored(zeros: Uint8Array, bits: number, format: GptqCheckpointFormat): Uint8Array {
  if (format === "gptq_v2") return zeros;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(zeros.length);
  for (let i = 0; i < zeros.length; i++) out[i] = (zeros[i]! - 1) & mask;
  return out;
}

/** W [out, in] row-major float32: W[o, i] = scales[g_idx[i], o]·(q[i, o] − z[g_idx[i], o]); exact in float32 (a
 *  float16 scale times an integer below 2^9). */
export function dequantizeGptq(q: GptqLinear): Float32Array {
  const { inFeatures: K, outFeatures: N, codes, zeros, scales, gIdx } = q;
  const w = new Float32Array(N * K);
  for (let i = 0; i < K; i++) {
    const g = gIdx[i]!;
    for (let o = 0; o < N; o++) w[o * K + i] = scales[g * N + o]! * (codes[i * N + o]! - zeros[g * N + o]!);
  }
  return w;
}

/** The default g_idx when a checkpoint has none: input i is in group i // group_size. */
export function sequentialGroups(inFeatures: number, groupSize: number): Int32Array {
  const g = new Int32Array(inFeatures);
  if (groupSize === -1) return g;
  for (let i = 0; i < inFeatures; i++) g[i] = Math.floor(i / groupSize);
  return g;
}
