// The frozen head read in vocabulary chunks in LoRA's training graph (../models/head-chunks.ts): the graph holds
// chunk weights only (no whole head to widen), and 20 steps of losses equal the whole head's within 1e-6 (so the
// gradients through the chunks are the same) and the oracle's within 1e-4; in float16 see below.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Checkpoint } from "@shortened/hf";
import { GraphBuilder } from "../graph/builder.js";
import { buildForwardGraph } from "../models/forward-graph.js";
import { defaultHeadChunkRows, headChunks } from "../models/head-chunks.js";
import type { ComputeDtype } from "../models/precision.js";
import { checkpointWeightRows, checkpointWeights } from "../models/weights.js";
import { halfTolerance } from "../test-support/half-tolerance.js";
import {
  fixtureLoraOptions,
  fixtureTrainOptions,
  rel,
  trainFixture,
} from "../test-support/train-fixtures.js";
import { trainLora } from "./lora.js";

async function losses(name: string, dtype: ComputeDtype, headChunkRows?: number): Promise<number[]> {
  const tmp = mkdtempSync(join(tmpdir(), "lora-chunks-"));
  try {
    const r = await trainLora({
      ...fixtureLoraOptions(trainFixture(name), join(tmp, "out")),
      dtype,
      ...(headChunkRows ? { headChunkRows } : {}),
    });
    return r.losses;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

test("chunk ranges cover the vocabulary; the default chunk is 32 MiB of float32", () => {
  assert.deepEqual(headChunks(256, 100), [
    { from: 0, to: 100 },
    { from: 100, to: 200 },
    { from: 200, to: 256 },
  ]);
  assert.deepEqual(headChunks(256, 256), [{ from: 0, to: 256 }]);
  assert.throws(() => headChunks(256, 0), /positive integer/);
  assert.equal(defaultHeadChunkRows(2048), 4096); // TinyLlama: 32000 rows in 8 chunks
  assert.equal(defaultHeadChunkRows(4096), 2048);
});

test("the chunked training graph holds the head's chunks, never the whole head", () => {
  const ckpt = Checkpoint.open(join(fixtureTrainOptions(trainFixture("llama"), {}).model));
  const build = (headChunkRows?: number) => {
    const g = new GraphBuilder();
    const weight = checkpointWeights(g, ckpt, "float16");
    const weightRows = checkpointWeightRows(g, ckpt, "float16");
    buildForwardGraph(ckpt.config, {
      graph: g,
      weight,
      weightRows,
      headChunkRows,
      dtype: "float16",
      nll: true,
    });
    return g;
  };
  const chunked = build(100);
  assert.ok(!chunked.initializers.has("lm_head.weight"));
  const parts = [...chunked.initializers.entries()].filter(([k]) => k.startsWith("lm_head.weight."));
  assert.deepEqual(
    parts.map(([k, t]) => [k, t.type, t.dims]),
    [
      ["lm_head.weight.rows0_100", "float16", [100, 32]],
      ["lm_head.weight.rows100_200", "float16", [100, 32]],
      ["lm_head.weight.rows200_256", "float16", [56, 32]],
    ],
  );
  // the chunks are the head's rows, rounded to float16 as the whole head is
  const whole = build(256).initializers.get("lm_head.weight")!;
  const wholeBits = whole.read!() as Uint16Array;
  const chunkBits = parts.map(([, t]) => t.read!() as Uint16Array);
  assert.deepEqual([...chunkBits.flatMap((b) => [...b])], [...wholeBits]);
});

for (const name of ["llama", "qwen2", "phi3"]) {
  test(`LoRA on the ${name} fixture, head in 3 chunks: losses = the whole head's within 1e-6, the oracle's within 1e-4`, async () => {
    const f = trainFixture(name);
    const whole = await losses(name, "float32");
    const chunked = await losses(name, "float32", 100);
    chunked.forEach((l, s) => {
      assert.ok(rel(l, whole[s]!) < 1e-6, `step ${s}: chunked ${l} vs whole ${whole[s]}`);
      assert.ok(rel(l, f.lora.losses[s]) < 1e-4, `step ${s}: chunked ${l} vs oracle ${f.lora.losses[s]}`);
    });
  });
}

// In float16 the forward is the same (step 0 within 1e-6); the input gradient through the head is not bit-equal:
// each chunk's product rounds its partial sum over the vocabulary to float16 once and the chunks add in float32,
// where the whole head rounds one sum. So later steps differ by float16 rounding, within the oracle's tolerance.
test("LoRA with a float16 base, head in 3 chunks: step 0 = the whole head's within 1e-6, every step the oracle's within tolerance", async () => {
  const f = trainFixture("mistral");
  const tol = halfTolerance(Checkpoint.open(fixtureTrainOptions(f, {}).model).config.numHiddenLayers, true);
  const whole = await losses("mistral", "float16");
  const chunked = await losses("mistral", "float16", 100);
  assert.ok(rel(chunked[0]!, whole[0]!) < 1e-6, `step 0: chunked ${chunked[0]} vs whole ${whole[0]}`);
  chunked.forEach((l, s) => {
    assert.ok(rel(l, whole[s]!) < tol, `step ${s}: chunked ${l} vs whole ${whole[s]} (tolerance ${tol})`);
    assert.ok(rel(l, f.lora.losses[s]) < tol, `step ${s}: chunked ${l} vs oracle ${f.lora.losses[s]}`);
  });
});

test("a tied head (the embedding table) stays whole: the same losses exactly", async () => {
  assert.deepEqual(await losses("llama-bias", "float32", 100), await losses("llama-bias", "float32"));
});
