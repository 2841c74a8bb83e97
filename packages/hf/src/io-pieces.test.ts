// Tensors over 2 GiB are read and written in pieces; a multi-GB tensor is too big for CI, so these tests run the
// same code paths with tiny pieces and check the bytes against one-piece reads and writes
// (bench/big-tensor.ts runs a 2.2 GB tensor at real size).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Checkpoint } from "./checkpoint.js";
import { SafetensorsStreamWriter, writeSafetensors } from "./safetensors-writer.js";
import { readTensorFile, writeTensorFile } from "./tensor-file.js";

const dir = mkdtempSync(join(tmpdir(), "hf-pieces-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const demo = new URL("../../../models/tinystories-llama-8L", import.meta.url).pathname;

const values = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed) * 3);

test("writeSafetensors and writeTensorFile in 3- and 5-byte pieces write the bytes one write does", () => {
  const tensors = [
    { name: "a", dtype: "F32" as const, shape: [7, 3], data: new Uint8Array(values(21, 1).buffer) },
    { name: "b", dtype: "F32" as const, shape: [5], data: new Uint8Array(values(5, 2).buffer) },
  ];
  writeSafetensors(join(dir, "whole.safetensors"), tensors);
  writeSafetensors(join(dir, "pieces.safetensors"), tensors, { format: "pt" }, 3);
  assert.deepEqual(
    readFileSync(join(dir, "pieces.safetensors")),
    readFileSync(join(dir, "whole.safetensors")),
  );

  const named = new Map([
    ["x", { dims: [4, 5], data: values(20, 3) }],
    ["y", { dims: [3], data: values(3, 4) }],
  ]);
  writeTensorFile(join(dir, "t-whole.safetensors"), named);
  writeTensorFile(join(dir, "t-pieces.safetensors"), named, 5);
  assert.deepEqual(
    readFileSync(join(dir, "t-pieces.safetensors")),
    readFileSync(join(dir, "t-whole.safetensors")),
  );
  for (const piece of [1, 3, 7, 1 << 30]) {
    const back = readTensorFile(join(dir, "t-pieces.safetensors"), piece);
    assert.deepEqual(back.get("x"), named.get("x"));
    assert.deepEqual(back.get("y"), named.get("y"));
  }
});

test("the stream writer appends chunks larger than its piece size", async () => {
  const specs = [{ name: "w", dtype: "F32" as const, shape: [33] }];
  const data = new Uint8Array(values(33, 5).buffer);
  const w = await SafetensorsStreamWriter.create(join(dir, "stream.safetensors"), specs, { format: "pt" }, 4);
  await w.append(data.subarray(0, 70));
  await w.append(data.subarray(70));
  await w.close();
  writeSafetensors(join(dir, "stream-ref.safetensors"), [{ ...specs[0]!, data }]);
  assert.deepEqual(
    readFileSync(join(dir, "stream.safetensors")),
    readFileSync(join(dir, "stream-ref.safetensors")),
  );
});

test("Checkpoint.readBytes in 3-byte pieces reads what one read does", () => {
  const c = Checkpoint.open(demo);
  for (const name of ["model.embed_tokens.weight", "model.norm.weight"])
    assert.deepEqual(c.readBytes(name, 3), c.readBytes(name));
});
