import assert from "node:assert/strict";
import { test } from "node:test";
import type { ModelConfig } from "@shortened/hf";
import {
  blockLinearParams,
  forwardFlops,
  generationFlops,
  modelAndCacheBytes,
  parameterCount,
} from "./flops.js";
import { spread } from "./stats.js";

const config = (layers: number) =>
  ({
    hiddenSize: 4,
    intermediateSize: 6,
    numAttentionHeads: 2,
    numKeyValueHeads: 1,
    headDim: 2,
    vocabSize: 10,
    numHiddenLayers: layers,
  }) as ModelConfig;

test("generation FLOPs: hand count on a tiny config, linear in batch, 25% of blocks removed", () => {
  // q 4x4, k and v 4x2 each, o 4x4, gate/up/down 3·4·6
  assert.equal(blockLinearParams(config(1)), 16 + 8 + 8 + 16 + 72);
  // prefill T=2: 2·120 + 2·4·2·2 = 272, head 40; one decode step at 3 keys: 120 + 2·4·3 = 144, head 40
  assert.equal(generationFlops(config(1), 1, 2, 2), 2 * (272 + 40 + 144 + 40));
  assert.equal(generationFlops(config(3), 5, 7, 9), 5 * generationFlops(config(3), 1, 7, 9));
  const ratio = generationFlops(config(9), 1, 128, 128) / generationFlops(config(12), 1, 128, 128);
  assert.ok(ratio > 0.75 && ratio < 0.8, `${ratio}`); // the head is not pruned
});

test("forward FLOPs: hand count, linear in batch, equal to a prefill whose head runs on every position", () => {
  // T=2: 2·120 block linears + 2·4·2·2 scores and mixing, head 2·40 (every position)
  assert.equal(forwardFlops(config(1), 1, 2), 2 * (240 + 32 + 80));
  assert.equal(forwardFlops(config(3), 4, 5), 4 * forwardFlops(config(3), 1, 5));
  const headOnOtherPositions = 2 * 40 * (7 - 1); // a prefill runs the head on its last position only
  assert.equal(forwardFlops(config(2), 1, 7), generationFlops(config(2), 1, 7, 1) + headOnOtherPositions);
});

test("spread: median and quartiles as numpy's linear interpolation", () => {
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, q1: 1.75, q3: 3.25, n: 4 });
  assert.equal(spread([7]).median, 7);
});

test("parameter count and memory of weights + KV cache", async () => {
  const { readConfig } = await import("@shortened/hf");
  const { fileURLToPath } = await import("node:url");
  const c = readConfig(fileURLToPath(new URL("../../../../models/tinystories-llama-8L", import.meta.url)));
  assert.equal(parameterCount(c), 396_352); // models/README: 396,352 parameters (tied head)
  const m = modelAndCacheBytes(c, 2, 10);
  assert.equal(m.weights, 4 * 396_352);
  assert.equal(m.kvCache, 4 * 2 * 8 * 2 * 4 * 10 * 8);
  // float16: matrices at 2 bytes, the norm vectors (2 per block and the final one, 64 wide) at 4; the cache stays float32
  const h = modelAndCacheBytes(c, 2, 10, "float16");
  const vectors = 64 * (2 * 8 + 1);
  assert.equal(h.weights, 2 * (396_352 - vectors) + 4 * vectors);
  assert.equal(h.kvCache, m.kvCache);
});

test("a GPTQ model's weights: its block linears as packed bytes (equal to the checkpoint's), the rest float32", async () => {
  const { Checkpoint } = await import("@shortened/hf");
  const { fileURLToPath } = await import("node:url");
  for (const dir of ["g32-act", "b3-row", "b2-g64-static", "b8-g64-act"]) {
    const ckpt = Checkpoint.open(
      fileURLToPath(new URL(`../../../hf/src/fixtures/gptq/${dir}`, import.meta.url)),
    );
    const c = ckpt.config;
    let packed = 0;
    let float = 0;
    for (const t of ckpt.tensors.values()) {
      if (c.tieWordEmbeddings && t.name === "lm_head.weight") continue;
      if (/\.(qweight|qzeros|scales|g_idx)$/.test(t.name)) packed += t.byteLength;
      else float += 4 * t.shape.reduce((a, b) => a * b, 1);
    }
    assert.equal(parameterCount(c), ckpt.parameterCount(), dir);
    assert.equal(modelAndCacheBytes(c, 1, 1).weights, float + packed, dir);
  }
});
