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

/** Widens little-endian stored bytes of a float dtype to a Float32Array (F64 is rounded to float32). */
export function bytesToFloat32(bytes: Uint8Array, dtype: StoredDtype): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
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
      // bfloat16 is the top half of a float32: shift the bits into place.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    default:
      throw new Error(`readFloat32: ${dtype} is not a float dtype`);
  }
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
