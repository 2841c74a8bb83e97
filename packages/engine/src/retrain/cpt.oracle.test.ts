// 20 CPT steps against the float64 oracle (fixtures/train): every step's loss within 1e-4 relative and the
// trained tensors' sums close, from the same checkpoint.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Checkpoint } from "@shortened/hf";
import {
  fixtureTrainOptions,
  rel,
  TRAIN_FIXTURE_NAMES,
  trainFixture,
} from "../test-support/train-fixtures.js";
import { trainCpt } from "./cpt.js";

for (const name of TRAIN_FIXTURE_NAMES) {
  test(`CPT on the ${name} fixture: 20 losses within 1e-4 relative`, async () => {
    const f = trainFixture(name);
    const o = f.cpt.options;
    const tmp = mkdtempSync(join(tmpdir(), "cpt-oracle-"));
    try {
      const r = await trainCpt({
        ...fixtureTrainOptions(f, o),
        out: join(tmp, "out"),
      });
      assert.equal(r.losses.length, f.cpt.losses.length);
      r.losses.forEach((l, s) => {
        assert.ok(rel(l, f.cpt.losses[s]) < 1e-4, `step ${s}: loss ${l} vs ${f.cpt.losses[s]}`);
      });
      r.gradNorms.forEach((g, s) => {
        assert.ok(rel(g, f.cpt.grad_norms[s]) < 1e-3, `step ${s}: grad norm ${g} vs ${f.cpt.grad_norms[s]}`);
      });
      const out = Checkpoint.open(r.out);
      for (const [k, st] of Object.entries(f.cpt.param_stats as Record<string, { sumsq: number }>)) {
        const t = out.readFloat32(k);
        const sumsq = t.reduce((a, b) => a + b * b, 0);
        assert.ok(rel(sumsq, st.sumsq) < 1e-4, `${k} sumsq ${sumsq} vs ${st.sumsq}`);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
