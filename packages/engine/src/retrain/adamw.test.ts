// The optimizer updates in place, slice by slice: any slice size gives the same bits, and the result is
// torch.optim.AdamW after clip_grad_norm_ (a float64 transcription of both, here).
import assert from "node:assert/strict";
import { test } from "node:test";
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

test("AdamW: slices of 4 elements give the bits one slice gives, and torch's update within 1e-6", async () => {
  const scalars = { gradScale: 1 / 8, lr: 1e-2, weightDecay: 0.1, t: 3 };
  const runs: AdamWState[] = [];
  const norms: number[] = [];
  for (const slice of [4, 1 << 20]) {
    const { state, grads } = freshState();
    const opt = await AdamW.create(tensors, 1, { threads: 1 }, slice);
    norms.push(await opt.step(state, grads, scalars));
    await opt.release();
    runs.push(state);
  }
  for (const t of tensors) {
    for (const k of ["params", "m", "v"] as const)
      assert.deepEqual(runs[0]![k].get(t.name), runs[1]![k].get(t.name), `${k} ${t.name}`);
  }
  // float64 reference
  const { state, grads } = freshState();
  let sumsq = 0;
  for (const g of grads.values()) for (const x of g) sumsq += (x * scalars.gradScale) ** 2;
  const norm = Math.sqrt(sumsq);
  assert.ok(Math.abs(norms[0]! - norm) < 1e-9 * norm);
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
      assert.ok(Math.abs(runs[0]!.params.get(t.name)![i]! - want) < 1e-6, `${t.name}[${i}]`);
    }
  }
});
