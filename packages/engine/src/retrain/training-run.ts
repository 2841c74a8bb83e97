// What LoRA and CPT training runs share: option checks (before any compute), the fingerprint that
// identifies a run, and the training-curve artifact.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UserError } from "@shortened/contracts";
import type { TrainRows } from "./data.js";
import { SCHEDULES } from "./schedule.js";
import type { TrainCurve, TrainOptions } from "./trainer.js";

export const CURVE_FILE = "training_curve.json";

export function checkTrainOptions(o: TrainOptions): void {
  const posInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1)
      throw new UserError("bad_request", `\`${name}\` must be a positive integer (got ${v})`);
  };
  posInt(o.steps, "steps");
  posInt(o.batch, "batch");
  posInt(o.gradAccum, "gradAccum");
  if (!Number.isInteger(o.warmup) || o.warmup < 0)
    throw new UserError("bad_request", `\`warmup\` must be a non-negative integer (got ${o.warmup})`);
  if (!(o.lr >= 0) || !Number.isFinite(o.lr))
    throw new UserError("bad_request", `\`lr\` must be a non-negative number (got ${o.lr})`);
  if (!(o.maxGradNorm >= 0))
    throw new UserError("bad_request", `\`maxGradNorm\` must be ≥ 0 (got ${o.maxGradNorm})`);
  if (!(o.weightDecay >= 0))
    throw new UserError("bad_request", `\`weightDecay\` must be ≥ 0 (got ${o.weightDecay})`);
  if (!SCHEDULES.includes(o.schedule))
    throw new UserError("bad_request", `\`schedule\` must be one of ${SCHEDULES.join(", ")}`);
  if (o.checkpointEvery !== undefined && (!Number.isInteger(o.checkpointEvery) || o.checkpointEvery < 0)) {
    throw new UserError(
      "bad_request",
      `\`checkpointEvery\` must be a non-negative integer (got ${o.checkpointEvery})`,
    );
  }
}

/** Tokens of the longest training row (the sequence length a micro-batch can reach). */
export function longestRow(rows: TrainRows): number {
  return rows.ids.reduce((a, r) => Math.max(a, r.length), 1);
}

export function rowsHash(rows: TrainRows): string {
  return createHash("sha256")
    .update(JSON.stringify([rows.ids, rows.labels]))
    .digest("hex");
}

/** The options that change the numbers (not threads, progress or paths). */
function trainKey(o: TrainOptions): Record<string, unknown> {
  return {
    steps: o.steps,
    batch: o.batch,
    gradAccum: o.gradAccum,
    lr: o.lr,
    warmup: o.warmup,
    schedule: o.schedule,
    maxGradNorm: o.maxGradNorm,
    weightDecay: o.weightDecay,
    // float32 runs keep the fingerprint they had before the dtype option existed (saved states still resume)
    ...(o.dtype && o.dtype !== "float32" ? { dtype: o.dtype } : {}),
  };
}

/** Identifies a run, so that a restart resumes only the very same run: the method, the model (its
 *  modelKey, else its folder), the data, the options that change the numbers, the method's own settings
 *  (`extra`) and the initial values of the trained tensors where they are not the model's. */
export function runFingerprint(
  kind: "cpt" | "lora",
  o: TrainOptions & { rows: TrainRows; modelKey?: string },
  modelDir: string,
  extra: Record<string, unknown> = {},
  init: Float32Array[] = [],
): string {
  const hash = createHash("sha256").update(
    JSON.stringify({
      kind,
      model: o.modelKey ?? resolve(modelDir),
      rows: rowsHash(o.rows),
      opts: trainKey(o),
      ...extra,
    }),
  );
  if (init.length > 0)
    hash.update(Buffer.concat(init.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength))));
  return hash.digest("hex");
}

/** The curve fields of a finished run, as the LoRA and CPT results report them. */
export function curveOf(run: TrainCurve): TrainCurve {
  const kd = run.kdLosses ? { kdLosses: run.kdLosses, ceLosses: run.ceLosses } : {};
  return { losses: run.losses, lrs: run.lrs, gradNorms: run.gradNorms, tokens: run.tokens, ...kd };
}

/** training_curve.json: one entry per optimizer step. */
export function writeCurve(dir: string, c: TrainCurve): void {
  const steps = c.losses.map((loss, s) => ({
    step: s + 1,
    loss,
    lr: c.lrs[s],
    gradNorm: c.gradNorms[s],
    tokens: c.tokens[s],
    ...(c.kdLosses ? { kdLoss: c.kdLosses[s], ceLoss: c.ceLosses?.[s] } : {}),
  }));
  writeFileSync(join(dir, CURVE_FILE), `${JSON.stringify({ steps }, null, 1)}\n`);
}
