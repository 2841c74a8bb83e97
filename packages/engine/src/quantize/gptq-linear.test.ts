// The two-level lazy updates of GPTQ's column loop: errors reaching the columns after a span of blocks in one
// product give the same codes, scales and loss as AutoGPTQ's update after every block (spans of 1).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlockedFactor } from "./blocked-factor.js";
import { type GptqSettings, prepareHessian, quantizeLinear } from "./gptq-linear.js";
import { TrailingUpdate } from "./trailing-update.js";

let factor: BlockedFactor;
let update: TrailingUpdate;
before(async () => {
  factor = await BlockedFactor.open({ threads: 1, leaf: 32 });
  update = await TrailingUpdate.open({ threads: 1 });
});
after(async () => {
  await factor.release();
  await update.release();
});

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

test("spans of 1, 3 and 20 blocks: identical codes, scales and zeros, loss within 1e-9", async () => {
  const n = 200;
  const out = 24;
  const rand = seeded(7);
  const k = 300;
  const X = Float64Array.from({ length: n * k }, rand);
  for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) X[j * k + t]! *= 1 + (j % 5); // uneven diagonal
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let t = 0; t < k; t++) d += X[i * k + t]! * X[j * k + t]!;
      H[i * n + j] = (2 * d) / k;
    }
  const W = Float32Array.from({ length: out * n }, rand);
  const base: GptqSettings = {
    method: "gptq",
    bits: 4,
    groupSize: 40,
    actOrder: true,
    staticGroups: false,
    sym: true,
    damp: 0.01,
    blockSize: 16,
    fp16Scales: false,
    dampRetries: 0,
    dampStep: 0.0015,
  };
  const prep = await prepareHessian(H, n, base, "test", factor);
  const ref = await quantizeLinear(W, out, prep, { ...base, spanBlocks: 1 }, update);
  for (const spanBlocks of [3, 20]) {
    const r = await quantizeLinear(W, out, prep, { ...base, spanBlocks }, update);
    assert.deepEqual(r.codes, ref.codes, `codes, spans of ${spanBlocks}`);
    assert.deepEqual(r.zeros, ref.zeros);
    for (let i = 0; i < r.scales.length; i++)
      assert.ok(Math.abs(r.scales[i]! - ref.scales[i]!) <= 1e-12 * Math.abs(ref.scales[i]!), `scale ${i}`);
    assert.ok(Math.abs(r.loss - ref.loss) <= 1e-9 * ref.loss, `loss ${r.loss} vs ${ref.loss}`);
  }
  // and the error feedback is on: RTN's codes differ
  const rtnSettings = { ...base, method: "rtn" as const };
  const rtnPrep = await prepareHessian(H, n, rtnSettings, "test", factor);
  const rtn = await quantizeLinear(W, out, rtnPrep, rtnSettings, update);
  assert.notDeepEqual(rtn.codes, ref.codes);
});
