import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  bytesToFloat32,
  float32ToBf16Bytes,
  float32ToF16Bytes,
  float32ToStoredBytes,
  halfToFloat,
} from "./dtypes.js";

test("half floats widen exactly (normals, subnormals, zero, inf, nan)", () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.ok(Object.is(halfToFloat(0x8000), -0));
  assert.equal(halfToFloat(0x7c00), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test("bytesToFloat32 reads F32, F16, BF16 and F64 little-endian", () => {
  const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]);
  assert.deepEqual([...bytesToFloat32(f16, "F16")], [1, -2]);
  const bf16 = new Uint8Array([0x80, 0x3f, 0x49, 0x40]); // 1.0, 3.140625
  assert.deepEqual([...bytesToFloat32(bf16, "BF16")], [1, 3.140625]);
  const f32 = new Float32Array([1.5, -0.25]);
  assert.deepEqual([...bytesToFloat32(new Uint8Array(f32.buffer), "F32")], [1.5, -0.25]);
  const f64 = new Float64Array([0.1]);
  assert.equal(bytesToFloat32(new Uint8Array(f64.buffer), "F64")[0], Math.fround(0.1));
  assert.throws(() => bytesToFloat32(new Uint8Array(8), "I64"));
});

test("float32 to bfloat16 rounds to nearest even and keeps NaN", () => {
  const v = new Float32Array([1, 3.3, 1 + 2 ** -8, 1 + 3 * 2 ** -8, Number.NaN]);
  const back = bytesToFloat32(float32ToBf16Bytes(v), "BF16");
  assert.deepEqual([...back.subarray(0, 4)], [1, 3.296875, 1, 1 + 2 ** -6]);
  assert.ok(Number.isNaN(back[4]));
});

test("float32 to F16 and BF16 round as torch does (ties to even, overflow, subnormals, inf, NaN)", () => {
  // scripts/fixtures/rounding.py
  const f = JSON.parse(readFileSync(new URL("./fixtures/dtypes/rounding.json", import.meta.url), "utf8")) as {
    f32_bits: number[];
    f16_bits: number[];
    bf16_bits: number[];
  };
  const values = new Float32Array(Uint32Array.from(f.f32_bits).buffer);
  const halves = (b: Uint8Array) => [...new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2)];
  const hex = (xs: number[]) => xs.map((x) => x.toString(16));
  // any NaN pattern is a NaN (torch 1.13 writes BF16 NaN as 0xffff, we write the quiet 0x7fc0)
  const bf16 = (xs: number[]) =>
    xs.map((x) => ((x & 0x7f80) === 0x7f80 && x & 0x7f ? "nan" : x.toString(16)));
  assert.deepEqual(hex(halves(float32ToF16Bytes(values))), hex(f.f16_bits));
  assert.deepEqual(bf16(halves(float32ToBf16Bytes(values))), bf16(f.bf16_bits));
  assert.deepEqual(hex(halves(float32ToStoredBytes(values, "F16"))), hex(f.f16_bits));
  const same = float32ToStoredBytes(values, "F32");
  assert.deepEqual([...new Float32Array(same.buffer, same.byteOffset, values.length)], [...values]);
});
