// 20 CPT steps against the float64 oracle (fixtures/train): every step's loss within 1e-4 relative and the
// trained tensors' sums close, from the same checkpoint.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Checkpoint } from "@shortened/hf";
import { trainCpt } from "./cpt.js";

const root = fileURLToPath(new URL("../../../..", import.meta.url));
const fixtures = fileURLToPath(new URL("../fixtures/train/", import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(join(fixtures, `${name}.json`), "utf8"));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

for (const name of ["llama", "mistral", "qwen2", "gemma", "llama-bias", "demo"]) {
  test(`CPT on the ${name} fixture: 20 losses within 1e-4 relative`, async () => {
    const f = fixture(name);
    const o = f.cpt.options;
    const tmp = mkdtempSync(join(tmpdir(), "cpt-oracle-"));
    try {
      const r = await trainCpt({
        model: join(root, f.model),
        rows: { ids: f.train.batch, labels: f.train.labels ?? f.train.batch, source: "fixture" },
        out: join(tmp, "out"),
        steps: o.steps,
        batch: o.batch,
        gradAccum: o.grad_accum,
        lr: o.lr,
        warmup: o.warmup,
        schedule: o.schedule,
        maxGradNorm: o.max_grad_norm,
        weightDecay: o.weight_decay,
        threads: 1,
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
