// A checkpoint's float32 weights handed to ONNX Runtime from its safetensors file (../graph/stored-weights.ts, the
// path of a graph over 256 MB) compute the same bits as the weights read and written by JavaScript (the path of
// small graphs), on every fixture family; F16 / BF16 stored or float16 compute: the converted-weights cache
// (../graph/weight-cache.ts), same bits.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort } from "../graph/session.js";
import { modelDir } from "../test-support/engine-fixtures.js";
import { buildForwardGraph } from "./forward-graph.js";
import type { ComputeDtype } from "./precision.js";
import { shiftedTargets } from "./targets.js";
import { checkpointHooks, openCheckpoint } from "./weights.js";

// gemma, llama-gqa, mistral-window: F32; llama-tied-bias, llama8: F16; qwen2-tied: BF16 (tied head)
const MODELS = ["gemma", "llama-gqa", "mistral-window", "llama-tied-bias", "llama8", "qwen2-tied"];
const B = 2;
const cacheDir = mkdtempSync(join(tmpdir(), "weights-stored-cache-"));
after(() => rmSync(cacheDir, { recursive: true, force: true }));
const T = 9;

async function run(model: string, dtype: ComputeDtype, inlineLimitBytes?: number) {
  const ckpt = openCheckpoint(modelDir(model));
  const g = new GraphBuilder();
  const fg = buildForwardGraph(ckpt.config, {
    graph: g,
    ...checkpointHooks(g, ckpt, { dtype }),
    logits: true,
  });
  const stored = [...g.initializers.values()].filter((t) => t.stored).length;
  const weightCache = { dir: cacheDir, maxBytes: 1 << 30 };
  const session = await createSession(g, { threads: 1, inlineLimitBytes, weightCache });
  const ids = Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % ckpt.config.vocabSize);
  const int64 = (v: ArrayLike<number>) =>
    new ort.Tensor("int64", BigInt64Array.from(Array.from(v, (x) => BigInt(x))), [B, T]);
  const feeds: Record<string, ort.Tensor> = { [fg.inputs.ids!]: int64(ids) };
  if (fg.inputs.targets) feeds[fg.inputs.targets] = int64(shiftedTargets(ids, B, T));
  if (fg.inputs.gates) {
    const n = ckpt.config.numHiddenLayers;
    feeds[fg.inputs.gates] = new ort.Tensor("float32", new Float32Array(n).fill(1), [n]);
  }
  const out = await session.run(feeds);
  await session.release();
  const external = [...g.initializers.values()].flatMap((t) => (t.external ? [t.external.location] : []));
  return { out, stored, external };
}

for (const dtype of ["float32", "float16"] as const) {
  test(`${dtype}: weights from the safetensors files equal weights written by JavaScript, bit for bit`, async () => {
    for (const model of MODELS) {
      const want = await run(model, dtype);
      const got = await run(model, dtype, 0);
      assert.equal(want.external.length, 0);
      const f32 = dtype === "float32" && ["gemma", "llama-gqa", "mistral-window"].includes(model);
      assert.ok(got.stored > 0, model);
      if (f32) assert.deepEqual(got.external, Array(got.stored).fill("model.safetensors"), model);
      else
        assert.ok(
          got.external.length > 0 && got.external.every((l) => /^[0-9a-f]{32}\.data$/.test(l)),
          model,
        );
      for (const name of Object.keys(want.out))
        assert.deepEqual(got.out[name]!.data, want.out[name]!.data, `${model} ${dtype}: ${name}`);
    }
  });
}
