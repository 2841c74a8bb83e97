import assert from "node:assert/strict";
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
