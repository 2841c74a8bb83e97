// A trained or merged checkpoint keeps its source's stored dtype: BF16 in, BF16 out (F16 likewise), values
// rounded to nearest even, config.json's dtype set to match (in the oracle's Python json form); F32 stays F32.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Checkpoint } from "./checkpoint.js";
import { storedModelDtype, writeHfCheckpoint } from "./checkpoint-writer.js";
import { bytesToFloat32, float32ToBf16Bytes, float32ToF16Bytes } from "./dtypes.js";

const work = mkdtempSync(join(tmpdir(), "hf-writer-"));
after(() => rmSync(work, { recursive: true, force: true }));
const fixtures = new URL("./fixtures/prune/", import.meta.url).pathname;

for (const [model, dtype, torchDtype] of [
  ["llama-bf16-h32", "BF16", "bfloat16"],
  ["llama-f16-tied-gqa", "F16", "float16"],
  ["llama-f32-untied", "F32", "float32"],
] as const) {
  test(`a ${dtype} source is written back in ${dtype} (round to nearest even), config dtype ${torchDtype}`, async () => {
    const src = Checkpoint.open(join(fixtures, model, "model"));
    assert.equal(storedModelDtype(src), dtype);
    const out = join(work, model);
    mkdirSync(out);
    const names = [...src.tensors.values()].map((t) => ({ name: t.name, shape: t.shape }));
    // an update that moves every value off the source grid, as training does
    const updated = (name: string) => src.readFloat32(name).map((v, i) => v + 1e-3 * Math.cos(i));
    const written = await writeHfCheckpoint(out, src, names, updated, { pieceBytes: 5 });
    assert.equal(written, dtype);
    const back = Checkpoint.open(out);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(config.torch_dtype ?? config.dtype, torchDtype);
    // the oracle's save_model_dir rewrites config.json with Python's json (write_config): the dtype is
    // unchanged here, so its file is the source's, byte for byte (1e-06, 10000.0, sorted keys)
    const source = readFileSync(join(fixtures, model, "model", "config.json"), "utf8");
    assert.equal(readFileSync(join(out, "config.json"), "utf8"), source);
    for (const { name } of names) {
      assert.equal(back.entry(name).dtype, dtype);
      const want = updated(name);
      const rounded =
        dtype === "BF16"
          ? bytesToFloat32(float32ToBf16Bytes(want), "BF16")
          : dtype === "F16"
            ? bytesToFloat32(float32ToF16Bytes(want), "F16")
            : want;
      assert.deepEqual(back.readFloat32(name), rounded, name);
    }
  });
}

test("bytesToFloat32 reads aligned and misaligned bytes alike, every float dtype", () => {
  const widen = bytesToFloat32;
  const want = Float32Array.from([0, -1.5, 3.25, 65504, -(2 ** -14), 1e-3]);
  const f64 = new Uint8Array(Float64Array.from(want).buffer);
  const cases = [
    ["F32", new Uint8Array(want.buffer)],
    ["BF16", float32ToBf16Bytes(want)],
    ["F16", float32ToF16Bytes(want)],
    ["F64", f64],
  ] as const;
  for (const [dtype, bytes] of cases) {
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const a = widen(bytes, dtype);
    const b = widen(shifted.subarray(1), dtype);
    assert.deepEqual(Array.from(b), Array.from(a), dtype);
    if (dtype === "F32" || dtype === "F64") assert.deepEqual(Array.from(a), Array.from(want), dtype);
  }
});
