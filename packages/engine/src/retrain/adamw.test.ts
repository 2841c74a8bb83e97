// The optimizer updates in place: its bits are those of ONNX Runtime running the update as a float32 graph, op
// by op (the graph it replaced, kept here as the reference), and the result is torch.optim.AdamW after
// clip_grad_norm_ (a float64 transcription of both, here).
import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort } from "../graph/session.js";
import { ADAM_EPS, AdamW, type AdamWState, BETA1, BETA2 } from "./adamw.js";

const tensors = [
  { name: "w", dims: [7, 3], decay: true },
  { name: "norm", dims: [5], decay: false },
];
const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + k));

function freshState(): { state: AdamWState; grads: Map<string, Float32Array> } {
  const state: AdamWState = { params: new Map(), m: new Map(), v: new Map() };
  const grads = new Map<string, Float32Array>();
  tensors.forEach((t, k) => {
    const n = t.dims.reduce((a, b) => a * b, 1);
    state.params.set(t.name, wave(n, k + 1));
    state.m.set(
      t.name,
      wave(n, k + 2).map((x) => x * 0.01),
    );
    state.v.set(
      t.name,
      wave(n, k + 3).map((x) => x * x * 1e-4),
    );
    grads.set(
      t.name,
      wave(n, k + 4).map((x) => x * 40),
    );
  });
  return { state, grads };
}

test("AdamW: torch's update after clipping within 1e-6, and the global norm", () => {
  const scalars = { gradScale: 1 / 8, lr: 1e-2, weightDecay: 0.1, t: 3 };
  const { state: run, grads: runGrads } = freshState();
  const norm0 = new AdamW(tensors, 1).step(run, runGrads, scalars);
  // float64 reference
  const { state, grads } = freshState();
  let sumsq = 0;
  for (const g of grads.values()) for (const x of g) sumsq += (x * scalars.gradScale) ** 2;
  const norm = Math.sqrt(sumsq);
  assert.ok(Math.abs(norm0 - norm) < 1e-9 * norm);
  const clip = Math.min(1, 1 / (norm + 1e-6));
  for (const t of tensors) {
    const p = state.params.get(t.name)!;
    for (let i = 0; i < p.length; i++) {
      const g = grads.get(t.name)![i]! * scalars.gradScale * clip;
      const m = BETA1 * state.m.get(t.name)![i]! + (1 - BETA1) * g;
      const v = BETA2 * state.v.get(t.name)![i]! + (1 - BETA2) * g * g;
      const pd = t.decay ? p[i]! * (1 - scalars.lr * scalars.weightDecay) : p[i]!;
      const want =
        pd -
        (scalars.lr / (1 - BETA1 ** scalars.t)) *
          (m / (Math.sqrt(v) / Math.sqrt(1 - BETA2 ** scalars.t) + ADAM_EPS));
      assert.ok(Math.abs(run.params.get(t.name)![i]! - want) < 1e-6, `${t.name}[${i}]`);
    }
  }
});

/** The update as a float32 ONNX graph (one node per operation), fed the scalars the optimizer derives. */
async function graphUpdate() {
  const g = new GraphBuilder();
  const scalar = (name: string) => g.input(name, "float32", []);
  const [coef, decay, stepSize, bc2Sqrt] = ["coef", "decay", "step_size", "bc2_sqrt"].map(scalar);
  const [p, gs, m, v] = ["p", "g", "m", "v"].map((n) => g.input(n, "float32", ["n"]));
  const gi = g.node("Mul", [gs!, coef!]);
  const m2 = g.node("Add", [g.node("Mul", [m!, g.scalar(BETA1)]), g.node("Mul", [gi, g.scalar(1 - BETA1)])]);
  const v2 = g.node("Add", [
    g.node("Mul", [v!, g.scalar(BETA2)]),
    g.node("Mul", [g.node("Mul", [gi, gi]), g.scalar(1 - BETA2)]),
  ]);
  const denom = g.node("Add", [g.node("Div", [g.node("Sqrt", [v2]), bc2Sqrt!]), g.scalar(ADAM_EPS)]);
  const p2 = g.node("Sub", [
    g.node("Mul", [p!, decay!]),
    g.node("Mul", [stepSize!, g.node("Div", [m2, denom])]),
  ]);
  for (const [x, name] of [
    [p2, "p2"],
    [m2, "m2"],
    [v2, "v2"],
  ] as const)
    g.output(g.rename(x, name), "float32", ["n"]);
  return createSession(g, { threads: 1 });
}

test("AdamW: the bits of ONNX Runtime's float32 graph of the update, over steps, decay and wide magnitudes", async () => {
  const session = await graphUpdate();
  const n = 4096;
  // magnitudes from 1e-30 to 1e4, both signs, zeros: rounding differences would show somewhere
  const wide = (k: number) =>
    Float32Array.from({ length: n }, (_, i) =>
      i % 97 === 0 ? 0 : Math.sin(i * k) * 10 ** ((i * k) % 35) * 1e-30,
    );
  const one = [{ name: "x", dims: [n], decay: true }];
  const ours: AdamWState = { params: new Map([["x", wide(1)]]), m: new Map([["x", wide(2)]]), v: new Map() };
  ours.v.set("x", wide(3).map(Math.abs));
  const ref = { p: ours.params.get("x")!.slice(), m: ours.m.get("x")!.slice(), v: ours.v.get("x")!.slice() };
  const opt = new AdamW(one, 1);
  const f = (x: number) => new ort.Tensor("float32", Float32Array.of(x), []);
  for (const [t, lr, wd, scale] of [
    [1, 1e-3, 0.1, 1 / 7],
    [2, 3e-4, 0, 1 / 3],
    [50, 2e-5, 0.01, 1],
  ] as const) {
    const grad = wide(t + 4);
    const norm = opt.step(ours, new Map([["x", grad.slice()]]), { gradScale: scale, lr, weightDecay: wd, t });
    const clip = Math.min(1, 1 / (norm + 1e-6));
    const out = await session.run({
      coef: f(scale * clip),
      decay: f(1 - lr * wd),
      step_size: f(lr / (1 - BETA1 ** t)),
      bc2_sqrt: f(Math.sqrt(1 - BETA2 ** t)),
      p: new ort.Tensor("float32", ref.p, [n]),
      g: new ort.Tensor("float32", grad, [n]),
      m: new ort.Tensor("float32", ref.m, [n]),
      v: new ort.Tensor("float32", ref.v, [n]),
    });
    ref.p = out.p2!.data as Float32Array<ArrayBuffer>;
    ref.m = out.m2!.data as Float32Array<ArrayBuffer>;
    ref.v = out.v2!.data as Float32Array<ArrayBuffer>;
    assert.deepEqual(ours.params.get("x"), ref.p, `params after step ${t}`);
    assert.deepEqual(ours.m.get("x"), ref.m, `m after step ${t}`);
    assert.deepEqual(ours.v.get("x"), ref.v, `v after step ${t}`);
  }
  await session.release();
});
