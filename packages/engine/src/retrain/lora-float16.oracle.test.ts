// LoRA with the frozen base held in float16 (adapters, moments and the optimizer float32) against the float64
// oracle (fixtures/train): every one of the 20 steps' losses within the backward tolerance 4u√(2D)
// (../test-support/half-tolerance.ts), drift of training on float16 gradients included (measured: under 1% of
// it on every fixture); CPT refuses float16 with its reason.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Checkpoint } from "@shortened/hf";
import { halfTolerance } from "../test-support/half-tolerance.js";
import {
  fixtureLoraOptions,
  fixtureTrainOptions,
  rel,
  TRAIN_FIXTURE_NAMES,
  trainFixture,
} from "../test-support/train-fixtures.js";
import { trainCpt } from "./cpt.js";
import { trainLora } from "./lora.js";

for (const name of TRAIN_FIXTURE_NAMES) {
  test(`LoRA with a float16 base on the ${name} fixture: losses within tolerance of the oracle`, async () => {
    const f = trainFixture(name);
    const tmp = mkdtempSync(join(tmpdir(), "lora-f16-"));
    try {
      const opts = fixtureLoraOptions(f, join(tmp, "out"));
      const tol = halfTolerance(Checkpoint.open(opts.model).config.numHiddenLayers, true);
      const r = await trainLora({ ...opts, dtype: "float16" });
      r.losses.forEach((l, s) => {
        assert.ok(
          rel(l, f.lora.losses[s]) < tol,
          `step ${s}: loss ${l} vs ${f.lora.losses[s]} (tolerance ${tol})`,
        );
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test("CPT refuses float16 with the reason", async () => {
  const f = trainFixture("llama");
  const tmp = mkdtempSync(join(tmpdir(), "cpt-f16-"));
  try {
    await assert.rejects(
      trainCpt({ ...fixtureTrainOptions(f, f.cpt.options), out: join(tmp, "out"), dtype: "float16" }),
      /CPT computes in float32/,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
