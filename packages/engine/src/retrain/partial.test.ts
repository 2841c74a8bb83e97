// Partial fine-tuning: the default parts (last blocks, final norm, head), frozen tensors written back bit for
// bit, the trained ones moving as CPT moves them (AdamW is per element: without clipping, one step of partial
// training equals one step of CPT on the same tensors), a tied head, and unknown parts refused.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Checkpoint } from "@shortened/hf";
import { trainCpt } from "./cpt.js";
import { partialParts, partialTensors } from "./partial.js";

const KD = fileURLToPath(new URL("../fixtures/kd/", import.meta.url));
const TIED = fileURLToPath(new URL("../fixtures/train/llama-bias", import.meta.url));
const student = join(KD, "student");
const rows = {
  ids: [
    [5, 9, 17, 3, 200, 41, 7, 99],
    [11, 4, 250, 6, 8, 13, 77, 2],
  ],
  labels: [
    [5, 9, 17, 3, 200, 41, 7, 99],
    [11, 4, 250, 6, 8, 13, 77, 2],
  ],
  source: "test",
};
const opts = {
  steps: 1,
  batch: 2,
  gradAccum: 1,
  lr: 1e-3,
  warmup: 0,
  schedule: "constant" as const,
  maxGradNorm: 0,
  weightDecay: 0.01,
  threads: 1,
};

test("the default parts are the last 3 blocks (of those there are), the final norm and the head", () => {
  const c = Checkpoint.open(student).config;
  assert.deepEqual(partialParts(c, {}), [
    "model.layers.0",
    "model.layers.1",
    "model.layers.2",
    "model.norm",
    "lm_head",
  ]);
  assert.deepEqual(partialParts(c, { lastBlocks: 1 }), ["model.layers.2", "model.norm", "lm_head"]);
  const names = partialTensors(c, partialParts(c, { lastBlocks: 1 }));
  assert.ok(
    names.every(
      (n) => n.startsWith("model.layers.2.") || n === "model.norm.weight" || n === "lm_head.weight",
    ),
  );
  assert.equal(names.length, 11);
  // tied: the head is the embedding
  const tied = Checkpoint.open(TIED).config;
  assert.deepEqual(partialTensors(tied, ["lm_head"]), ["model.embed_tokens.weight"]);
  assert.throws(() => partialTensors(c, ["model.layers.9"]), /names no tensor of this model/);
});

test("partial training leaves frozen tensors bit-identical and moves the trained ones as CPT does", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "partial-"));
  try {
    const cpt = await trainCpt({ ...opts, model: student, rows, out: join(tmp, "cpt") });
    const part = await trainCpt({
      ...opts,
      model: student,
      rows,
      out: join(tmp, "part"),
      partial: { lastBlocks: 1 },
    });
    assert.equal(part.losses[0], cpt.losses[0]);
    assert.equal(part.trained!.length, 11);
    const src = Checkpoint.open(student);
    const a = Checkpoint.open(cpt.out);
    const b = Checkpoint.open(part.out);
    for (const name of src.tensors.keys()) {
      const x = b.readFloat32(name);
      if (part.trained!.includes(name)) {
        const y = a.readFloat32(name);
        const s = src.readFloat32(name);
        // Adam's first step is ±lr where |g| ≫ eps, so elements whose gradient is near eps may differ by a
        // fraction of lr between the two graphs' float32 sums; all others agree to float32 rounding.
        let moved = 0;
        let off = 0;
        for (let i = 0; i < x.length; i++) {
          const d = Math.abs(x[i]! - y[i]!);
          assert.ok(d <= 0.05 * opts.lr, `${name}[${i}] ${x[i]} vs ${y[i]}`);
          if (d > 1e-6 * Math.max(1, Math.abs(y[i]!))) off++;
          if (x[i] !== s[i]) moved++;
        }
        assert.ok(off <= 0.01 * x.length, `${name}: ${off} of ${x.length} differ`);
        assert.ok(moved > 0, `${name} did not move`);
      } else assert.deepEqual(x, src.readFloat32(name), `${name} changed`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
