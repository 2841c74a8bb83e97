// Half products (a float32 activation cast to float16 times a float16 weight, ../models/precision.ts): both
// gradients are MatMuls with the transposes on the activations, never Gemm, whose float16 kernel on ONNX Runtime's
// CPU provider is a slow reference loop; the values are the float64 products within float16 rounding.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort } from "../graph/session.js";
import { toHalfBits } from "../models/precision.js";
import { grad } from "./grad.js";

test("the gradients of a float16 x·W (batched x) are MatMuls and equal the float64 products", async () => {
  const [B, T, K, N] = [2, 3, 8, 5];
  const g = new GraphBuilder();
  const x = g.input("x", "float32", [B, T, K]);
  const w = g.input("w", "float16", [K, N]);
  const seed = g.input("seed", "float32", [B, T, N]);
  const y = g.node("Cast", [g.node("MatMul", [g.node("Cast", [x], { to: 10 }), w])], { to: 1 });
  const loss = g.node("ReduceSum", [g.node("Mul", [y, seed])], { keepdims: 0 });
  const before = g.nodes.length;
  const [gx, gw] = grad(g, loss, [x, w]) as [string, string];
  const added = g.nodes.slice(before);
  assert.ok(!added.some((n) => n.opType === "Gemm"), "a half product's gradient uses no Gemm");
  assert.equal(added.filter((n) => n.opType === "MatMul").length, 2);
  g.output(g.rename(gx, "gx"), "float32", [B, T, K]);
  g.output(g.rename(g.node("Cast", [gw], { to: 1 }), "gw"), "float32", [K, N]);

  // values exactly representable in float16 (multiples of 1/8 below 4), so only the products round
  const vals = (n: number, k: number) =>
    Float32Array.from({ length: n }, (_, i) => (((i * k) % 29) - 14) / 8);
  const xs = vals(B * T * K, 7);
  const ws = vals(K * N, 11);
  const ss = vals(B * T * N, 5);
  const session = await createSession(g, { threads: 1 });
  const out = await session.run({
    x: new ort.Tensor("float32", xs, [B, T, K]),
    w: new ort.Tensor("float16", toHalfBits(ws, "float16"), [K, N]),
    seed: new ort.Tensor("float32", ss, [B, T, N]),
  });
  await session.release();
  const gotW = out.gw!.data as Float32Array;
  const gotX = out.gx!.data as Float32Array;
  const u = 2 ** -11;
  for (let k = 0; k < K; k++)
    for (let n = 0; n < N; n++) {
      let want = 0; // ∂/∂W[k,n] = Σ_rows x[r,k]·seed[r,n]
      for (let r = 0; r < B * T; r++) want += xs[r * K + k]! * ss[r * N + n]!;
      assert.ok(Math.abs(gotW[k * N + n]! - want) <= 2 * u * Math.max(1, Math.abs(want)), `gw[${k},${n}]`);
    }
  for (let r = 0; r < B * T; r++)
    for (let k = 0; k < K; k++) {
      let want = 0; // ∂/∂x[r,k] = Σ_n seed[r,n]·W[k,n]
      for (let n = 0; n < N; n++) want += ss[r * N + n]! * ws[k * N + n]!;
      assert.ok(Math.abs(gotX[r * K + k]! - want) <= 2 * u * Math.max(1, Math.abs(want)), `gx[${r},${k}]`);
    }
});
