// 20 LoRA steps against the float64 oracle (fixtures/train): every step's loss within 1e-4 relative, the
// merged weights within 1e-5, from the same --init adapter.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Checkpoint } from "@shortened/hf";
import {
  fixtureLoraOptions,
  rel,
  TRAIN_FIXTURE_NAMES,
  trainFixture,
} from "../test-support/train-fixtures.js";
import { trainLora } from "./lora.js";

for (const name of TRAIN_FIXTURE_NAMES) {
  test(`LoRA on the ${name} fixture: 20 losses within 1e-4 relative, merged weights within 1e-5`, async () => {
    const f = trainFixture(name);
    const tmp = mkdtempSync(join(tmpdir(), "lora-oracle-"));
    try {
      const r = await trainLora({ ...fixtureLoraOptions(f, join(tmp, "out")), merge: true });
      assert.equal(r.losses.length, f.lora.losses.length);
      r.losses.forEach((l, s) => {
        assert.ok(rel(l, f.lora.losses[s]) < 1e-4, `step ${s}: loss ${l} vs ${f.lora.losses[s]}`);
      });
      r.lrs.forEach((l, s) => {
        assert.ok(Math.abs(l - f.lora.lrs[s]) < 1e-12, `step ${s}: lr ${l} vs ${f.lora.lrs[s]}`);
      });
      r.gradNorms.forEach((g, s) => {
        assert.ok(
          rel(g, f.lora.grad_norms[s]) < 1e-3,
          `step ${s}: grad norm ${g} vs ${f.lora.grad_norms[s]}`,
        );
      });
      const merged = Checkpoint.open(r.merged!);
      for (const [k, want] of Object.entries(f.lora.merged as Record<string, number[]>)) {
        const got = merged.readFloat32(k);
        want.forEach((v, i) => {
          assert.ok(Math.abs(got[i]! - v) < 1e-5, `${k}[${i}]: ${got[i]} vs ${v}`);
        });
      }
      for (const [k, [sum]] of Object.entries(f.lora.merged_stats as Record<string, [number, number]>)) {
        const got = merged.readFloat32(k).reduce((a, b) => a + b, 0);
        assert.ok(
          Math.abs(got - sum) < 1e-5 * Math.max(1, merged.readFloat32(k).length / 100),
          `${k} sum ${got} vs ${sum}`,
        );
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
