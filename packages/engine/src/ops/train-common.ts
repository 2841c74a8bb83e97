// What LoRA and CPT training share at the op level: option checks (before any compute), the data hash that
// identifies a run, and the training-curve artifact.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import type { TrainRows } from "../train/data.js";
import { SCHEDULES } from "../train/schedule.js";
import type { TrainCurve, TrainOptions } from "../train/trainer.js";

export const CURVE_FILE = "training_curve.json";

export function checkTrainOptions(o: TrainOptions): void {
  const posInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1)
      throw new UserError("bad_request", `${name} must be a positive integer (got ${v})`);
  };
  posInt(o.steps, "--steps");
  posInt(o.batch, "--batch");
  posInt(o.gradAccum, "--grad-accum");
  if (!Number.isInteger(o.warmup) || o.warmup < 0)
    throw new UserError("bad_request", `--warmup must be a non-negative integer (got ${o.warmup})`);
  if (!(o.lr >= 0) || !Number.isFinite(o.lr))
    throw new UserError("bad_request", `--lr must be a non-negative number (got ${o.lr})`);
  if (!(o.maxGradNorm >= 0))
    throw new UserError("bad_request", `--max-grad-norm must be ≥ 0 (got ${o.maxGradNorm})`);
  if (!(o.weightDecay >= 0))
    throw new UserError("bad_request", `--weight-decay must be ≥ 0 (got ${o.weightDecay})`);
  if (!SCHEDULES.includes(o.schedule))
    throw new UserError("bad_request", `--schedule must be one of ${SCHEDULES.join(", ")}`);
  if (o.checkpointEvery !== undefined && (!Number.isInteger(o.checkpointEvery) || o.checkpointEvery < 0)) {
    throw new UserError(
      "bad_request",
      `--checkpoint-every must be a non-negative integer (got ${o.checkpointEvery})`,
    );
  }
}

export function rowsHash(rows: TrainRows): string {
  return createHash("sha256")
    .update(JSON.stringify([rows.ids, rows.labels]))
    .digest("hex");
}

/** training_curve.json: one entry per optimizer step. */
export function writeCurve(dir: string, c: TrainCurve): void {
  const steps = c.losses.map((loss, s) => ({
    step: s + 1,
    loss,
    lr: c.lrs[s],
    gradNorm: c.gradNorms[s],
    tokens: c.tokens[s],
  }));
  writeFileSync(join(dir, CURVE_FILE), `${JSON.stringify({ steps }, null, 1)}\n`);
}
