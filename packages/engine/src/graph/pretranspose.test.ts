import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphBuilder } from "./builder.js";
import { pretransposeWeights, transpose2d } from "./pretranspose.js";
import { createSession, ort } from "./session.js";

const W = Float32Array.from({ length: 12 }, (_, i) => i + 1); // [3, 4]

function graph(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input("x", "float32", [2, 4]);
  const ids = g.input("ids", "int64", [2]);
  g.initializer("w", { type: "float32", dims: [3, 4], data: new Float32Array(0), read: () => W.slice() });
  g.initializer("e", { type: "float32", dims: [3, 4], data: new Float32Array(0), read: () => W.slice() });
  // w: two Transposes (forward and a second reader) → one transposed initializer; e: also gathered → untouched
  const y1 = g.node("MatMul", [x, g.node("Transpose", ["w"], { perm: [1, 0] })]);
  const y2 = g.node("MatMul", [x, g.node("Transpose", ["w"])]);
  const y3 = g.node("MatMul", [x, g.node("Transpose", ["e"], { perm: [1, 0] })]);
  const rows = g.node("Gather", ["e", ids], { axis: 0 });
  g.output(g.rename(g.node("Add", [g.node("Add", [y1, y2]), y3]), "y"), "float32", [2, 3]);
  g.output(g.rename(rows, "rows"), "float32", [2, 4]);
  return g;
}

test("transpose2d transposes in tiles, any shape", () => {
  const a = Float32Array.from({ length: 70 * 130 }, (_, i) => i);
  const t = transpose2d(a, 70, 130);
  for (const [i, j] of [
    [0, 0],
    [69, 129],
    [5, 100],
    [64, 64],
  ] as const)
    assert.equal(t[j * 70 + i], a[i * 130 + j]);
  assert.ok(transpose2d(new Uint16Array([1, 2, 3, 4, 5, 6]), 2, 3) instanceof Uint16Array);
});

test("weights read only through Transposes are written transposed; the graph computes the same", async () => {
  const feeds = {
    x: new ort.Tensor("float32", Float32Array.from([1, 0, 2, -1, 0.5, 3, 0, 1]), [2, 4]),
    ids: new ort.Tensor("int64", BigInt64Array.from([2n, 0n]), [2]),
  };
  const plain = graph();
  const before = await (await ort.InferenceSession.create(plain.toBytes())).run(feeds);
  const g = graph();
  assert.equal(pretransposeWeights(g), 1);
  assert.ok(!g.initializers.has("w") && g.initializers.has("e"));
  assert.equal(g.nodes.filter((n) => n.opType === "Transpose").length, 1);
  const t = [...g.initializers.values()].find((x) => x.dims[0] === 4)!;
  assert.deepEqual(Array.from(t.read!() as Float32Array), Array.from(transpose2d(W, 3, 4)));
  const after = await (await createSession(graph())).run(feeds);
  assert.deepEqual(Array.from(after.y!.data as Float32Array), Array.from(before.y!.data as Float32Array));
  assert.deepEqual(
    Array.from(after.rows!.data as Float32Array),
    Array.from(before.rows!.data as Float32Array),
  );
});
