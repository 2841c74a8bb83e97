// Training runs are estimated before loading and refused, with what would fit, when over the memory budget.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { isUserError } from "@shortened/contracts";
import { parseConfig } from "@shortened/hf";
import { halfWideningBytes } from "../execution/estimate.js";
import { TINYLLAMA } from "../test-support/big-configs.js";
import { trainCpt } from "./cpt.js";
import { estimateTraining, planTraining } from "./training-memory.js";

const G = 2 ** 30;
const config = (o: Record<string, number>) =>
  parseConfig({ model_type: "llama", num_attention_heads: 12, num_key_value_heads: 4, ...o });
// bench/train.ts's 100M model and TinyLlama-1.1B's shapes
const m100 = config({ hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 12, vocab_size: 16000 });
const tiny = TINYLLAMA;

test("CPT is estimated at 20 bytes per parameter plus activations (100M: measured 3.01 GiB peak)", () => {
  const e = estimateTraining(m100, { kind: "cpt", batch: 4, seqLen: 128 });
  assert.ok(e.total > 3.0 * G && e.total < 3.6 * G, `${e.total / G} GB`);
  const big = estimateTraining(tiny, { kind: "cpt", batch: 4, seqLen: 128 });
  assert.ok(big.trained > 20 * G, "1.1B CPT keeps over 20 GB of state");
  const lora = estimateTraining(tiny, { kind: "lora", batch: 4, seqLen: 128, adapterParams: 12e6 });
  assert.ok(lora.total < big.total / 2);
});

test("a training run over the budget is refused with what would fit", () => {
  assert.throws(
    () => planTraining(tiny, { kind: "cpt", batch: 4, seqLen: 128 }, "8G"),
    (e: unknown) =>
      isUserError(e) &&
      e.code === "bad_request" &&
      /LoRA instead of CPT/.test(e.message) &&
      /8\.00 GB/.test(e.message),
  );
  const ok = planTraining(m100, { kind: "cpt", batch: 4, seqLen: 128 }, "8G");
  assert.match(ok.summary, /^CPT, estimated peak .* of a 8\.00 GB budget \(option\)/);
});

test("trainCpt refuses before any compute when the budget is too small", async () => {
  const model = fileURLToPath(new URL("../fixtures/train/llama", import.meta.url));
  const tmp = mkdtempSync(join(tmpdir(), "train-budget-"));
  try {
    await assert.rejects(
      trainCpt({
        model,
        rows: { ids: [[1, 2, 3, 4]], labels: [[1, 2, 3, 4]], source: "test" },
        out: join(tmp, "out"),
        steps: 1,
        batch: 1,
        gradAccum: 1,
        lr: 1e-3,
        warmup: 0,
        schedule: "constant",
        maxGradNorm: 0,
        weightDecay: 0,
        memoryBudget: "1M",
      }),
      (e: unknown) => isUserError(e) && /needs about/.test(e.message),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("LoRA with a float16 base counts the widening of one head chunk; float32 LoRA over the budget names float16", () => {
  const w = { kind: "lora", batch: 1, seqLen: 128, adapterParams: 6e6 } as const;
  const half = estimateTraining(tiny, { ...w, dtype: "float16" });
  // the head is read in 4096-row chunks, narrower than the MLP's 5632 × 2048 matrices
  assert.equal(half.widening, halfWideningBytes(tiny, "float16", 4096));
  assert.ok(half.widening < halfWideningBytes(tiny, "float16", 32000));
  assert.equal(estimateTraining(tiny, w).widening, 0);
  // distillation needs every logit: the whole head widens
  const kd = estimateTraining(tiny, { ...w, dtype: "float16", teacher: { config: tiny, topK: 64 } });
  assert.equal(kd.widening, halfWideningBytes(tiny, "float16", 32000));
  assert.throws(
    () => planTraining(tiny, w, 5 * G),
    (e: unknown) =>
      isUserError(e) && /`dtype` float16, the frozen base in half the memory \(about /.test(e.message),
  );
});
