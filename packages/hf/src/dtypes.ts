// Safetensors dtypes we understand, their element sizes, and widening of half floats to float32.

export type StoredDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I8" | "U8" | "BOOL";

export const DTYPE_BYTES: Readonly<Record<StoredDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isStoredDtype(s: unknown): s is StoredDtype {
  return typeof s === "string" && Object.hasOwn(DTYPE_BYTES, s);
}

export function isFloatDtype(d: StoredDtype): boolean {
  return d === "F32" || d === "F16" || d === "BF16" || d === "F64";
}

/** IEEE half (binary16) bits to a float32 value (exact: every half is a float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** This machine stores numbers little-endian, as safetensors does: typed-array views read the bytes as they are. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Widens little-endian stored bytes of a float dtype to a Float32Array (F64 is rounded to float32). F32 is one
 *  bulk copy and BF16/F16/F64 go through typed-array views when the bytes are aligned, instead of value-by-value
 *  DataView reads (25M values: F32 163–289 ms vs 304–353 ms, BF16 219–231 vs 270–329 ms, at load ≈15). */
export function bytesToFloat32(bytes: Uint8Array, dtype: StoredDtype): Float32Array {
  const size = DTYPE_BYTES[dtype];
  const n = bytes.byteLength / size;
  const out = new Float32Array(n);
  if (LITTLE_ENDIAN && isFloatDtype(dtype)) {
    // a view needs its element alignment: copy misaligned bytes once into an aligned buffer
    const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
    switch (dtype) {
      case "F32":
        new Uint8Array(out.buffer).set(aligned);
        return out;
      case "F64":
        out.set(new Float64Array(aligned.buffer, aligned.byteOffset, n));
        return out;
      case "F16": {
        const u16 = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(u16[i]!);
        return out;
      }
      case "BF16": {
        // bfloat16 is the top half of a float32: shift the bits into place.
        const u16 = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = u16[i]! << 16;
        return out;
      }
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32":
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case "F64":
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case "F16":
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    case "BF16": {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    default:
      throw new Error(`readFloat32: ${dtype} is not a float dtype`);
  }
}

/** Rounds one float32 (given as its bits) to IEEE half bits: round to nearest even, overflow to ±inf,
 *  gradual underflow to subnormals, NaN kept quiet. */
function float32BitsToHalf(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal (2^-25): ±0
    const full = mant | 0x800000;
    const shift = 14 - e;
    const h = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (rem > half || (rem === half && h & 1) ? h + 1 : h);
  }
  const h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // a carry out of the mantissa moves into the exponent, up to 0x7c00 (inf): that is the right rounding
  return sign | (rem > 0x1000 || (rem === 0x1000 && h & 1) ? h + 1 : h);
}

/** Rounds float32 values to IEEE half (F16) little-endian bytes, round to nearest even. */
export function float32ToF16Bytes(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32BitsToHalf(bits[i]!);
  return new Uint8Array(out.buffer);
}

/** The stored bytes of float32 values in a float dtype a checkpoint is written in (F32 as is, halves rounded
 *  to nearest even). */
export function float32ToStoredBytes(values: Float32Array, dtype: "F32" | "F16" | "BF16"): Uint8Array {
  if (dtype === "F16") return float32ToF16Bytes(values);
  if (dtype === "BF16") return float32ToBf16Bytes(values);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Rounds float32 values to bfloat16 bits (round to nearest even, NaN kept), little-endian bytes. */
export function float32ToBf16Bytes(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const u = bits[i];
    const h = Number.isNaN(values[i]) ? 0x7fc0 : ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
    view.setUint16(i * 2, h, true);
  }
  return out;
}
