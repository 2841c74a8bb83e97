import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { readConfig } from "@shortened/hf";
import { ForwardSession } from "../models/forward-session.js";
import { parameterCount } from "./flops.js";
import { widthPrune } from "./width-prune.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const demo = `${root}models/tinystories-llama-8L`;
const ids = [1, 415, 260, 300, 13, 87, 290, 311, 262, 45];

async function nll(model: string): Promise<Float32Array> {
  const s = await ForwardSession.open(model, { nll: true, threads: 1 });
  try {
    return (
      await s.run(
        { batch: 1, seqLen: ids.length - 1, ids: ids.slice(0, -1), targets: ids.slice(1) },
        { nll: true },
      )
    ).nll!;
  } finally {
    await s.release();
  }
}

test("width pruning keeping everything reproduces the model", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "width-")), "m");
  await widthPrune({ model: demo, out, keepRatio: 1 });
  assert.deepEqual(Array.from(await nll(out)), Array.from(await nll(demo)));
});

test("width pruning to 6/8 of the block parameters matches a 2-of-8 depth prune's size and runs", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "width-")), "m");
  const r = await widthPrune({ model: demo, out, keepRatio: 6 / 8 });
  const before = readConfig(demo);
  const after = readConfig(out);
  assert.equal(after.numKeyValueHeads, 3);
  assert.equal(after.numAttentionHeads, 6);
  assert.equal(after.headDim, before.headDim);
  assert.equal(after.intermediateSize, r.intermediateSize);
  const depthPruned = parameterCount({ ...before, numHiddenLayers: 6 });
  assert.ok(
    Math.abs(parameterCount(after) / depthPruned - 1) < 0.01,
    `${parameterCount(after)} vs ${depthPruned}`,
  );
  const loss = await nll(out);
  assert.ok(loss.every(Number.isFinite));
  // the removed heads and channels were the smallest by magnitude, not the first ones
  assert.ok(r.kept.some((b) => b.groups.join() !== "0,1,2"));
});

test("width pruning keeps q/k/v biases in step (Qwen2 fixture)", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "width-")), "m");
  const model = `${root}packages/hf/src/fixtures/prune/qwen2-f32-tied/model`;
  const before = readConfig(model);
  await widthPrune({ model, out, keepRatio: 0.5 });
  const s = await ForwardSession.open(out, { nll: true, threads: 1 });
  await s.release();
  assert.ok(readConfig(out).numKeyValueHeads <= before.numKeyValueHeads);
});
