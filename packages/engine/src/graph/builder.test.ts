import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GraphBuilder } from "./builder.js";
import { createSession, ort } from "./session.js";

test("a built graph runs in ONNX Runtime: MatMul then ReduceSum", async () => {
  const g = new GraphBuilder();
  const x = g.input("x", "float32", ["n", 2]);
  const w = g.initializer("w", { type: "float32", dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]) });
  const y = g.node("MatMul", [x, w]);
  const s = g.node("ReduceSum", [y, g.int64s([1])], { keepdims: 0 });
  g.output(g.rename(s, "s"), "float32", ["n"]);
  const sess = await createSession(g);
  const out = await sess.run({ x: new ort.Tensor("float32", Float32Array.from([1, 1]), [1, 2]) });
  assert.deepEqual(Array.from(out.s!.data as Float32Array), [10]);
});

test("external data written in 7-byte pieces equals one write and loads in ONNX Runtime", async () => {
  const dir = mkdtempSync(join(tmpdir(), "builder-pieces-"));
  try {
    const g = new GraphBuilder();
    const x = g.input("x", "float32", ["n", 300]);
    const data = Float32Array.from({ length: 300 * 2 }, (_, i) => Math.cos(i));
    const w = g.initializer("w", { type: "float32", dims: [300, 2], data });
    g.output(g.rename(g.node("MatMul", [x, w]), "y"), "float32", ["n", 2]);
    writeFileSync(join(dir, "one.onnx"), g.toBytes(join(dir, "one.onnx.data")));
    writeFileSync(join(dir, "pieces.onnx"), g.toBytes(join(dir, "pieces.onnx.data"), 7));
    assert.deepEqual(readFileSync(join(dir, "pieces.onnx.data")), readFileSync(join(dir, "one.onnx.data")));
    const sess = await ort.InferenceSession.create(join(dir, "pieces.onnx"));
    const ones = new Float32Array(300).fill(1);
    const out = await sess.run({ x: new ort.Tensor("float32", ones, [1, 300]) });
    const want = [0, 1].map((j) => data.reduce((a, v, i) => (i % 2 === j ? a + v : a), 0));
    for (const [j, v] of (out.y!.data as Float32Array).entries()) assert.ok(Math.abs(v - want[j]!) < 1e-4);
    await sess.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
