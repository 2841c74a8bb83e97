// Distillation against the float64 oracle's kd-train (fixtures/kd, scripts/fixtures/kd.sh): a 3-block student
// pruned from a 4-block teacher, rows with ignored labels. Per step the objective, its KD and CE parts and the
// gradient norm within 1e-4 relative; the final weights' sums of squares within 1e-3. Also: alpha 0 is CPT
// bit for bit, a teacher equal to the student gives a zero KD loss, and a teacher with another vocabulary is
// refused.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Checkpoint, readTensorFile } from "@shortened/hf";
import { rel } from "../test-support/train-fixtures.js";
import { trainCpt } from "./cpt.js";
import { trainLora } from "./lora.js";
import type { TrainOptions } from "./trainer.js";

const KD = fileURLToPath(new URL("../fixtures/kd/", import.meta.url));
const DEMO = fileURLToPath(new URL("../../../../models/tinystories-llama-8L", import.meta.url));
const f = JSON.parse(readFileSync(join(KD, "kd.json"), "utf8"));
const rows = { ids: f.train.batch, labels: f.train.labels, source: "fixture" };

// biome-ignore lint/suspicious/noExplicitAny: oracle JSON
function options(c: any): TrainOptions {
  return {
    steps: c.steps,
    batch: c.batch,
    gradAccum: c.grad_accum,
    lr: c.lr,
    warmup: c.warmup,
    schedule: c.schedule,
    maxGradNorm: c.max_grad_norm,
    weightDecay: c.weight_decay,
    threads: 1,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: oracle JSON
function checkCurve(r: any, o: any): void {
  for (const [ours, theirs] of [
    ["losses", "losses"],
    ["kdLosses", "kd_losses"],
    ["ceLosses", "ce_losses"],
    ["gradNorms", "grad_norms"],
  ] as const) {
    assert.equal(r[ours].length, o[theirs].length, ours);
    r[ours].forEach((x: number, s: number) => {
      assert.ok(rel(x, o[theirs][s]) < 1e-4, `step ${s}: ${ours} ${x} vs ${o[theirs][s]}`);
    });
  }
}

const withTmp = async (fn: (dir: string) => Promise<void>) => {
  const dir = mkdtempSync(join(tmpdir(), "kd-oracle-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

for (const name of ["full", "topk"] as const) {
  test(`distillation (${name}) of all parameters equals the oracle's kd-train per step`, () =>
    withTmp(async (tmp) => {
      const c = f.cases[name];
      const r = await trainCpt({
        ...options(c.options),
        model: join(KD, "student"),
        rows,
        out: join(tmp, "out"),
        distill: {
          teacher: join(KD, "teacher"),
          alpha: c.options.alpha,
          temperature: c.options.tau,
          topK: c.options.topk,
        },
      });
      checkCurve(r, c);
      const out = Checkpoint.open(r.out);
      for (const [k, st] of Object.entries(c.param_stats as Record<string, { sumsq: number }>)) {
        const t = out.readFloat32(k);
        const sumsq = t.reduce((a, b) => a + b * b, 0);
        assert.ok(rel(sumsq, st.sumsq) < 1e-3, `${k} sumsq ${sumsq} vs ${st.sumsq}`);
      }
    }));
}

test("distillation of LoRA adapters equals the oracle's kd-train --lora per step", () =>
  withTmp(async (tmp) => {
    const c = f.cases.lora;
    const r = await trainLora({
      ...options(c.options),
      model: join(KD, "student"),
      rows,
      out: join(tmp, "out"),
      r: c.options.r,
      alpha: c.options.lora_alpha,
      initAdapter: join(KD, f.init_adapter),
      distill: { teacher: join(KD, "teacher"), alpha: c.options.alpha, temperature: c.options.tau },
    });
    checkCurve(r, c);
    const adapter = readTensorFile(r.adapter);
    for (const [k, st] of Object.entries(c.adapter_stats as Record<string, { sumsq: number }>)) {
      const t = adapter.get(k)!.data;
      const sumsq = t.reduce((a, b) => a + b * b, 0);
      assert.ok(rel(sumsq, st.sumsq) < 1e-3, `${k} sumsq ${sumsq} vs ${st.sumsq}`);
    }
  }));

test("distillation with alpha 0 is CPT bit for bit (losses, grad norms, checkpoint sha256)", () =>
  withTmp(async (tmp) => {
    const o = { ...options(f.cases.full.options), steps: 4, model: join(KD, "student"), rows };
    const cpt = await trainCpt({ ...o, out: join(tmp, "cpt") });
    const kd = await trainCpt({
      ...o,
      out: join(tmp, "kd"),
      distill: { teacher: join(KD, "teacher"), alpha: 0, temperature: 2 },
    });
    assert.deepEqual(kd.losses, cpt.losses);
    assert.deepEqual(kd.ceLosses, cpt.losses);
    assert.deepEqual(kd.gradNorms, cpt.gradNorms);
    assert.ok(kd.kdLosses!.every((x) => x > 0));
    const sha = (dir: string) =>
      createHash("sha256")
        .update(readFileSync(join(dir, "model.safetensors")))
        .digest("hex");
    assert.equal(sha(kd.out), sha(cpt.out));
  }));

test("a teacher equal to the student gives a zero KD loss (float32 noise) and a near-zero gradient", () =>
  withTmp(async (tmp) => {
    const r = await trainCpt({
      ...options(f.cases.full.options),
      steps: 1,
      model: join(KD, "student"),
      rows,
      out: join(tmp, "out"),
      distill: { teacher: join(KD, "student") },
    });
    assert.ok(Math.abs(r.kdLosses![0]!) <= 1e-6, `kd loss ${r.kdLosses![0]}`);
    assert.ok(r.gradNorms[0]! < 1e-4, `grad norm ${r.gradNorms[0]}`);
  }));

test("a teacher with another vocabulary is refused, with the reason", () =>
  withTmp(async (tmp) => {
    await assert.rejects(
      trainCpt({
        ...options(f.cases.full.options),
        model: join(KD, "student"),
        rows,
        out: join(tmp, "out"),
        distill: { teacher: DEMO },
      }),
      /vocabulary of 512 tokens and the student 256/,
    );
  }));
