import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Checkpoint, layerWeight } from "./checkpoint.js";
import { readConfig } from "./config.js";
import { widthPrune } from "./width-prune.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const demo = `${root}models/tinystories-llama-8L`;
const qwen2 = `${root}packages/hf/src/fixtures/prune/qwen2-f32-tied/model`;
const tmp = mkdtempSync(join(tmpdir(), "width-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("width pruning keeping everything reproduces every tensor", async () => {
  const out = join(tmp, "all");
  await widthPrune({ model: demo, out, keepRatio: 1 });
  const a = Checkpoint.open(demo);
  const b = Checkpoint.open(out);
  assert.deepEqual([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort());
  for (const name of a.tensors.keys()) assert.deepEqual(b.readFloat32(name), a.readFloat32(name), name);
});

test("width pruning to 6/8 of the block parameters matches a 2-of-8 depth prune's size", async () => {
  const out = join(tmp, "six-eighths");
  const r = await widthPrune({ model: demo, out, keepRatio: 6 / 8 });
  const before = readConfig(demo);
  const after = readConfig(out);
  assert.equal(after.numKeyValueHeads, 3);
  assert.equal(after.numAttentionHeads, 6);
  assert.equal(after.headDim, before.headDim);
  assert.equal(after.intermediateSize, r.intermediateSize);
  const full = Checkpoint.open(demo);
  const blockParams = [...full.tensors.entries()]
    .filter(([name]) => name.startsWith("model.layers.0."))
    .reduce((s, [, t]) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  const depthPruned = full.parameterCount() - 2 * blockParams;
  const widthPruned = Checkpoint.open(out).parameterCount();
  assert.ok(Math.abs(widthPruned / depthPruned - 1) < 0.01, `${widthPruned} vs ${depthPruned}`);
  // the removed heads and channels were the smallest by magnitude, not the first ones
  assert.ok(r.kept.some((b) => b.groups.join() !== "0,1,2"));
});

test("width pruning cuts q/k/v biases in step with their weights (Qwen2 fixture)", async () => {
  const out = join(tmp, "qwen2");
  const before = readConfig(qwen2);
  await widthPrune({ model: qwen2, out, keepRatio: 0.5 });
  const c = readConfig(out);
  assert.ok(c.numKeyValueHeads < before.numKeyValueHeads);
  const ckpt = Checkpoint.open(out);
  for (let l = 0; l < c.numHiddenLayers; l++) {
    for (const [p, heads] of [
      ["q_proj", c.numAttentionHeads],
      ["k_proj", c.numKeyValueHeads],
      ["v_proj", c.numKeyValueHeads],
    ] as const) {
      assert.deepEqual(ckpt.entry(layerWeight(l, `self_attn.${p}.weight`)).shape, [
        heads * c.headDim,
        c.hiddenSize,
      ]);
      assert.deepEqual(ckpt.entry(layerWeight(l, `self_attn.${p}.bias`)).shape, [heads * c.headDim]);
    }
  }
});
