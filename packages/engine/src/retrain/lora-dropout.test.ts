// LoRA dropout (PEFT's lora_dropout on the adapters' input). The oracle supports only dropout 0, so the golden
// file (fixtures/train/llama-dropout.json, scripts/fixtures/lora_dropout_fixtures.py) runs the oracle's own
// lora-train with the dropout added around its linear layers and the keep masks drawn in Python by the
// documented rule: the masks agree element for element, and 8 steps with p = 0.25 give the same losses. Also: the
// keep rate and independence of the masks, dropout 0 is the graph without dropout, and a run killed mid-way
// resumes to the same bytes (the masks are a function of the step).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Checkpoint } from "@shortened/hf";
import { fixtureTrainOptions, rel, TRAIN_FIXTURES, trainFixture } from "../test-support/train-fixtures.js";
import { trainLora } from "./lora.js";
import { dropoutKeepMask } from "./lora-dropout.js";

const base = trainFixture("llama");
const ref = trainFixture("llama-dropout");

function options(tmp: string, extra: object = {}) {
  const o = ref.options;
  return {
    ...fixtureTrainOptions(base, o),
    out: join(tmp, "out"),
    r: o.r,
    alpha: o.alpha,
    targets: o.targets,
    initAdapter: join(TRAIN_FIXTURES, base.lora.init_adapter),
    seed: ref.seed,
    ...extra,
  };
}

test("the keep masks are the reference's, element for element", () => {
  const [B, T, H] = ref.first_mask.shape;
  const keep = dropoutKeepMask(ref.p, B * T * H, ref.seed, 0, 0, 0);
  assert.deepEqual(Array.from(keep.subarray(0, ref.first_mask.keep.length)), ref.first_mask.keep);
});

test("keep rate is 1 − p and masks of different steps, micro-batches and modules are independent", () => {
  const n = 200_000;
  for (const p of [0.05, 0.25, 0.5]) {
    const a = dropoutKeepMask(p, n, 7, 3, 0, 2);
    const kept = a.reduce((s, x) => s + x, 0);
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(kept - n * (1 - p)) < 5 * sd, `p=${p}: kept ${kept} of ${n}`);
    // two masks agree on a position with probability p² + (1 − p)² when independent
    for (const b of [
      dropoutKeepMask(p, n, 7, 4, 0, 2),
      dropoutKeepMask(p, n, 7, 3, 1, 2),
      dropoutKeepMask(p, n, 7, 3, 0, 3),
      dropoutKeepMask(p, n, 8, 3, 0, 2),
    ]) {
      let same = 0;
      for (let i = 0; i < n; i++) if (a[i] === b[i]) same++;
      const q = p * p + (1 - p) * (1 - p);
      assert.ok(Math.abs(same - n * q) < 5 * Math.sqrt(n * q * (1 - q)), `p=${p}: ${same} equal positions`);
    }
  }
  assert.deepEqual(dropoutKeepMask(0.3, 1000, 1, 2, 3, 4), dropoutKeepMask(0.3, 1000, 1, 2, 3, 4));
});

test("8 LoRA steps with dropout 0.25 equal the oracle's lora-train with the same masks", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "lora-dropout-"));
  try {
    const r = await trainLora({ ...options(tmp), dropout: ref.p, merge: true });
    assert.equal(r.losses.length, ref.losses.length);
    for (const [s, l] of r.losses.entries())
      assert.ok(rel(l, ref.losses[s]) < 1e-4, `step ${s}: ${l} vs ${ref.losses[s]}`);
    for (const [s, g] of r.gradNorms.entries())
      assert.ok(rel(g, ref.grad_norms[s]) < 1e-3, `step ${s}: grad norm ${g} vs ${ref.grad_norms[s]}`);
    const merged = Checkpoint.open(r.merged!);
    for (const [k, [sum]] of Object.entries(ref.merged_stats as Record<string, [number, number]>)) {
      const w = merged.readFloat32(k);
      const got = w.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(got - sum) < 1e-5 * Math.max(1, w.length / 100), `${k} sum ${got} vs ${sum}`);
    }
    // without dropout the run differs (the masks matter) and equals the oracle's dropout-0 fixture
    const plain = await trainLora({ ...options(tmp), out: join(tmp, "plain"), dropout: 0 });
    // (the fixture ran 20 steps: the linear schedule agrees with an 8-step run during the 3 warmup steps, so
    // the losses before and after them agree)
    for (const [s, l] of plain.losses.slice(0, 4).entries())
      assert.ok(rel(l, base.lora.losses[s]) < 1e-4, `dropout 0, step ${s}: ${l} vs ${base.lora.losses[s]}`);
    assert.ok(rel(plain.losses[7]!, r.losses[7]!) > 1e-3);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("a run with dropout killed after step 5 resumes to the same adapter bytes", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "lora-dropout-resume-"));
  try {
    const whole = await trainLora({ ...options(tmp), out: join(tmp, "whole"), dropout: ref.p });
    const ac = new AbortController();
    const killed = options(tmp, {
      out: join(tmp, "resumed"),
      dropout: ref.p,
      signal: ac.signal,
      saveOnAbort: () => true,
      onProgress: (p: { step: number }) => {
        if (p.step === 5) ac.abort(new Error("killed"));
      },
    });
    await assert.rejects(trainLora(killed));
    const resumed = await trainLora({ ...options(tmp), out: join(tmp, "resumed"), dropout: ref.p });
    assert.equal(resumed.resumedFrom, 5);
    assert.deepEqual(resumed.losses, whole.losses);
    assert.ok(
      readFileSync(resumed.adapter).equals(readFileSync(whole.adapter)),
      "adapter_model.safetensors bytes",
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
