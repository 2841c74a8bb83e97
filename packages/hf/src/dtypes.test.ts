import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToFloat32, float32ToBf16Bytes, halfToFloat } from "./dtypes.js";

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
