// Every VJP rule against central finite differences in float64.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphBuilder } from "../graph/builder.js";
import { ort } from "../graph/session.js";
import { grad } from "./grad.js";
import { type CheckInput, type Extra, gradCheck } from "./gradcheck.js";

type Build = (g: GraphBuilder, xs: string[], extras: string[]) => string;

async function expectMatch(inputs: CheckInput[], build: Build, extras: Extra[] = []) {
  const r = await gradCheck(inputs, build, extras);
  assert.ok(r.elements > 0);
  assert.ok(
    r.maxAbsErr < 1e-7 && r.maxRelErr < 1e-6,
    `max abs err ${r.maxAbsErr}, max rel err ${r.maxRelErr}`,
  );
}

const S = (...shape: number[]): CheckInput => ({ shape });
const P = (...shape: number[]): CheckInput => ({ shape, range: "positive" });
const ints = (name: string, dims: number[], values: number[]): Extra => ({
  name,
  type: "int64",
  declared: dims,
  tensor: new ort.Tensor("int64", BigInt64Array.from(values.map(BigInt)), dims),
});

const binary = (op: string) => ((g, [a, b]) => g.node(op, [a!, b!])) as Build;
const unary = (op: string, attrs = {}) => ((g, [a]) => g.node(op, [a!], attrs)) as Build;

test("Add/Sub/Mul/Div with broadcasting reduce back to each input's shape", async () => {
  await expectMatch([S(2, 3), S(3)], binary("Add"));
  await expectMatch([S(2, 1, 3), S(4, 1)], binary("Sub"));
  await expectMatch([S(2, 3, 4), S(1, 3, 1)], binary("Mul"));
  await expectMatch([S(2, 3), P(2, 1)], binary("Div"));
  await expectMatch([S(3)], (g, [a]) => g.node("Mul", [a!, a!]));
});

test("broadcast reduction decided at run time when dims are symbolic", async () => {
  await expectMatch(
    [
      { shape: [2, 3], declared: ["a", "b"] },
      { shape: [1, 3], declared: ["c", "b"] },
    ],
    binary("Mul"),
  );
  await expectMatch(
    [
      { shape: [4], declared: ["n"] },
      { shape: [2, 4], declared: ["m", "n"] },
    ],
    binary("Add"),
  );
});

test("Pow with a constant exponent and with a variable exponent", async () => {
  await expectMatch([S(2, 3)], (g, [a]) => g.node("Pow", [a!, g.scalar(2, "float64")]));
  await expectMatch([P(2, 3)], (g, [a]) => g.node("Pow", [a!, g.scalar(-0.5, "float64")]));
  await expectMatch([P(2, 3), S(3)], binary("Pow"));
});

test("unary functions", async () => {
  for (const op of ["Neg", "Exp", "Tanh", "Sigmoid", "Identity", "Abs"])
    await expectMatch([S(2, 3)], unary(op));
  for (const op of ["Sqrt", "Reciprocal", "Log"]) await expectMatch([P(2, 3)], unary(op));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("Cast", [a!], { to: 11 }));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("CastLike", [a!, a!]));
});

test("Erf (ONNX Runtime has only a float32 kernel: checked through casts, with a wider step)", async () => {
  const r = await gradCheck(
    [S(2, 3)],
    (g, [a]) => g.node("Cast", [g.node("Erf", [g.node("Cast", [a!], { to: 1 })])], { to: 11 }),
    [],
    { eps: 1e-2 },
  );
  assert.ok(r.maxAbsErr < 1e-4, `erf max abs err ${r.maxAbsErr}`);
});

test("Softmax, LogSoftmax and reductions", async () => {
  await expectMatch([S(2, 5)], unary("Softmax", { axis: -1 }));
  await expectMatch([S(2, 3, 4)], unary("LogSoftmax", { axis: 1 }));
  await expectMatch([S(2, 3, 4)], (g, [a]) => g.node("ReduceSum", [a!, g.int64s([1])], { keepdims: 0 }));
  await expectMatch([S(2, 3, 4)], (g, [a]) => g.node("ReduceMean", [a!, g.int64s([-1])], { keepdims: 1 }));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("ReduceSum", [a!], { keepdims: 0 }));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("ReduceMean", [a!, g.int64s([0, 1])], { keepdims: 0 }));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("ReduceSumSquare", [a!, g.int64s([1])], { keepdims: 1 }));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("ReduceMax", [a!, g.int64s([1])], { keepdims: 0 }));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("ReduceLogSumExp", [a!, g.int64s([1])], { keepdims: 0 }));
});

test("MatMul: weight, batched, broadcast batch; Gemm in every transpose combination", async () => {
  await expectMatch([S(2, 3, 4), S(4, 5)], binary("MatMul"));
  await expectMatch([S(2, 3, 4), S(2, 4, 5)], binary("MatMul"));
  await expectMatch([S(2, 1, 3, 4), S(1, 2, 4, 2)], binary("MatMul"));
  await expectMatch([S(3, 4), S(2, 4, 5)], binary("MatMul"));
  for (const [tA, tB] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ] as const) {
    const a = tA ? S(4, 3) : S(3, 4);
    const b = tB ? S(5, 4) : S(4, 5);
    await expectMatch([a, b, S(5)], (g, [x, y, z]) =>
      g.node("Gemm", [x!, y!, z!], { transA: tA, transB: tB, alpha: { float: 0.7 }, beta: { float: 1.3 } }),
    );
  }
});

test("shape ops: Reshape, Flatten, Transpose, Unsqueeze, Squeeze, Expand, Tile", async () => {
  await expectMatch([S(2, 3, 4)], (g, [a]) => g.node("Reshape", [a!, g.int64s([6, -1])]));
  await expectMatch([S(2, 3, 4)], (g, [a]) => g.node("Flatten", [a!], { axis: -1 }));
  await expectMatch([S(2, 3, 4)], (g, [a]) => g.node("Transpose", [a!], { perm: [2, 0, 1] }));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("Unsqueeze", [a!, g.int64s([0, -1])]));
  await expectMatch([S(2, 1, 3)], (g, [a]) => g.node("Squeeze", [a!, g.int64s([1])]));
  await expectMatch([S(3, 1)], (g, [a]) => g.node("Expand", [a!, g.int64s([2, 3, 4])]));
  await expectMatch([S(2, 3)], (g, [a]) => g.node("Tile", [a!, g.int64s([3, 2])]));
});

test("Concat, Split (an unused output gets zeros) and Slice (negative bounds, steps, two axes)", async () => {
  await expectMatch([S(2, 3), S(2, 2)], (g, [a, b]) => g.node("Concat", [a!, b!], { axis: -1 }));
  await expectMatch([S(2, 3), S(1, 3)], (g, [a, b]) => g.node("Concat", [a!, b!], { axis: 0 }));
  await expectMatch([S(2, 6)], (g, [a]) => {
    const [p, , q] = g.nodeN("Split", [a!, g.int64s([2, 3, 1])], { axis: 1 }, 3);
    return g.node("Concat", [q!, p!], { axis: 1 });
  });
  await expectMatch([S(3, 8)], (g, [a]) =>
    g.node("Slice", [a!, g.int64s([0, -6]), g.int64s([-1, 100]), g.int64s([0, 1]), g.int64s([1, 2])]),
  );
  await expectMatch([S(2, 4)], (g, [a]) => g.node("Slice", [a!, g.int64s([2]), g.int64s([4])]));
  // unit steps on known sizes take the Pad path, with negative and out-of-range bounds clamped
  await expectMatch([S(3, 8)], (g, [a]) =>
    g.node("Slice", [a!, g.int64s([1, -5]), g.int64s([-1, 100]), g.int64s([0, 1])]),
  );
  // a symbolic size takes the scatter path
  await expectMatch([{ shape: [3, 8], declared: ["n", 8] }], (g, [a]) =>
    g.node("Slice", [a!, g.int64s([1, 2]), g.int64s([3, 6]), g.int64s([0, 1])]),
  );
});

test("Gather (repeated indices accumulate), GatherElements, Where, Max/Min", async () => {
  await expectMatch([S(5, 3)], (g, [e], [ids]) => g.node("Gather", [e!, ids!]), [
    ints("ids", [2, 3], [1, 4, 1, 0, 1, 2]),
  ]);
  await expectMatch([S(2, 4)], (g, [a], [ix]) => g.node("GatherElements", [a!, ix!], { axis: 1 }), [
    ints("ix", [2, 3], [0, 3, 3, 1, 1, 2]),
  ]);
  await expectMatch([S(2, 3), S(3)], (g, [a, b]) =>
    g.node("Where", [g.constant("bool", [2, 3], [1, 0, 1, 0, 0, 1]), a!, b!]),
  );
  await expectMatch([S(2, 3), S(2, 3)], binary("Max"));
  await expectMatch([S(2, 3), S(3)], binary("Min"));
});

test("LogSoftmax of a one-per-row GatherElements pick (an NLL) scatters onto −softmax, no zero tensor left", async () => {
  const pick: Build = (g, [a], [ix]) =>
    g.node("GatherElements", [g.node("LogSoftmax", [a!], { axis: 2 }), ix!], { axis: 2 });
  await expectMatch([S(2, 3, 5)], pick, [ints("ix", [2, 3, 1], [0, 4, 4, 1, 2, 3])]);
  // two picks per row take the general rule
  await expectMatch(
    [S(2, 5)],
    (g, [a], [ix]) => g.node("GatherElements", [g.node("LogSoftmax", [a!], { axis: 1 }), ix!], { axis: 1 }),
    [ints("ix", [2, 2], [0, 4, 3, 3])],
  );
  const g = new GraphBuilder();
  const a = g.input("a", "float32", ["b", 7]);
  const ix = g.input("ix", "int64", ["b", 1]);
  const loss = g.node(
    "ReduceSum",
    [g.node("GatherElements", [g.node("LogSoftmax", [a], { axis: 1 }), ix], { axis: 1 })],
    { keepdims: 0 },
  );
  grad(g, loss, [a]);
  const ops = g.nodes.map((n) => n.opType);
  assert.deepEqual(
    ops.filter((o) => o === "ConstantOfShape" || o === "ScatterElements" || o === "Sub"),
    ["ScatterElements"],
  );
});

test("SoftmaxCrossEntropyLoss with ignore_index, per item and mean", async () => {
  const labels = ints("labels", [4], [2, -100, 0, 4]);
  for (const reduction of ["none", "mean", "sum"]) {
    await expectMatch(
      [S(4, 5)],
      (g, [s], [l]) => g.node("SoftmaxCrossEntropyLoss", [s!, l!], { reduction, ignore_index: -100 }),
      [labels],
    );
  }
  await expectMatch(
    [S(4, 5)],
    (g, [s], [l]) => g.nodeN("SoftmaxCrossEntropyLoss", [s!, l!], { reduction: "none" }, 2)[1]!,
    [ints("labels", [4], [2, 1, 0, 4])],
  );
});
