// A float16 stream holds its one resident block at 2 bytes a matrix parameter: matrices are read from their stored
// bits straight into a half buffer, bit for bit the checkpoint's values rounded once to float16 from BF16, F16 and
// F32 checkpoints alike; the memory estimate counts what is held.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { layerName } from "../models/architecture.js";
import { toHalfBits } from "../models/precision.js";
import { openCheckpoint } from "../models/weights.js";
import { modelDir } from "../test-support/engine-fixtures.js";
import { estimateStreamed, weightBytes } from "./estimate.js";
import { StreamedModel } from "./streamed-model.js";

const prune = (m: string) =>
  fileURLToPath(new URL(`../../../hf/src/fixtures/prune/${m}/model`, import.meta.url));

for (const [stored, dir] of [
  ["BF16", prune("llama-bf16-h32")],
  ["F16", prune("llama-f16-tied-gqa")],
  ["F32", prune("llama-f32-untied")],
  ["F32 (engine fixture)", modelDir("llama-gqa")],
] as const) {
  test(`float16 block and head feeds of a ${stored} checkpoint are its values rounded once`, async () => {
    const ckpt = openCheckpoint(dir);
    const V = ckpt.config.vocabSize;
    const H = ckpt.config.hiddenSize;
    const opts = { threads: 1, maxSeqLen: 8, dtype: "float16" as const, headChunkRows: 37 };
    const sliced = await StreamedModel.open(ckpt, opts);
    try {
      for (let i = 0; i < sliced.numLayers; i++) {
        const feeds = sliced.blockWeightFeeds(i);
        for (const w of sliced.blockGraph(i).inputs.blockWeights!) {
          const want = ckpt.readFloat32(layerName(i, w.suffix));
          const got = feeds[w.name]!;
          assert.equal(got.type, w.type, w.name);
          assert.deepEqual(
            got.data,
            w.type === "float32" ? want : toHalfBits(want, "float16"),
            `block ${i} ${w.name}`,
          );
        }
      }
      const head = ckpt.readFloat32(
        ckpt.config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight",
      );
      const v0 = V > 37 ? 37 : 0; // the second chunk where there is one
      const rows = Math.min(37, V - v0);
      const chunk = sliced.loadHeadChunk(v0, rows);
      assert.equal(chunk.type, "float16");
      assert.deepEqual(chunk.data, toHalfBits(head.subarray(v0 * H, (v0 + rows) * H), "float16"));
    } finally {
      await sliced.release();
    }
  });
}

test("the float16 stream holds half a float32 block, and the estimate counts it", async () => {
  const ckpt = openCheckpoint(modelDir("llama-gqa"));
  const c = ckpt.config;
  const [f32, f16] = await Promise.all([
    StreamedModel.open(ckpt, { threads: 1, maxSeqLen: 8 }),
    StreamedModel.open(ckpt, { threads: 1, maxSeqLen: 8, dtype: "float16" }),
  ]);
  try {
    const half = weightBytes(c, "float16").block;
    // the tiny fixture's head chunk is the whole vocabulary, at most a float32 block
    const head16 = f16.headRows * c.hiddenSize * 2;
    const vectors = weightBytes(c, "float32").block - 2 * (weightBytes(c, "float32").block - half);
    assert.equal(f16.residentWeightBytes, Math.max(half - vectors, head16) + vectors);
    assert.ok(f32.residentWeightBytes >= weightBytes(c, "float32").block);
    const w = { batch: 1, seqLen: 8, head: "nll" as const };
    assert.ok(estimateStreamed(c, { ...w, dtype: "float16" }).weights >= f16.residentWeightBytes);
    assert.ok(estimateStreamed(c, w).weights >= f32.residentWeightBytes);
  } finally {
    await Promise.all([f32.release(), f16.release()]);
  }
});
