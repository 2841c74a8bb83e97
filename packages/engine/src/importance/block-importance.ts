// Block importance by the forward-only criteria: ppl, magnitude, bi, angular. Output: one score per block
// (per group start for angular with n > 1), the removal order (stable ascending sort: least important first)
// and the "+" order that never removes the first keepFirst / last keepLast blocks.
import { UserError } from "@shortened/contracts";
import type { Checkpoint } from "@shortened/hf";
import { softwareVersion } from "../eval/protocol.js";
import type { Device } from "../graph/session.js";
import { openCheckpoint } from "../models/weights.js";
import { type Calibration, type CalibrationOptions, loadCalibration } from "./calibration.js";
import { importanceLimits } from "./limits.js";
import { magnitudeCriterion } from "./magnitude.js";
import { plusOrder, stableOrder } from "./orders.js";
import { pplCriterion } from "./ppl.js";
import { similarityCriterion } from "./similarity.js";
import { taylorBlockImportance } from "./taylor-criterion.js";

/** Criteria this module computes; `taylor` needs gradients and lives with the autodiff code. */
export const FORWARD_CRITERIA = ["ppl", "magnitude", "bi", "angular"] as const;
export type ForwardCriterion = (typeof FORWARD_CRITERIA)[number];

export interface BlockImportanceOptions extends CalibrationOptions {
  model: string | Checkpoint;
  criterion: string;
  /** bi/angular: compare h_l with h_{l+group} (the oracle's --n); angular scores groups of contiguous blocks */
  group?: number;
  /** bi/angular: which tokens (default bi: all, angular: last) */
  token?: "all" | "last";
  /** calibration rows per forward run (default 10, the authors' single batch) */
  batchSize?: number;
  keepFirst?: number;
  keepLast?: number;
  device?: Device;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface BlockImportanceResult {
  /** the model folder */
  model?: string;
  criterion: ForwardCriterion | "taylor";
  numLayers: number;
  scores: number[];
  order: number[];
  orderPlus: number[];
  keepFirst: number;
  keepLast: number;
  /** bi/angular: the group size n */
  group?: number;
  /** angular with n > 1: the best group to remove */
  removeBest?: number[];
  basePpl?: number;
  blockMeanNll?: number[];
  weightScores?: [string, number][];
  /** taylor: per block key plus model.norm.weight / lm_head.weight, and each calibration batch's loss */
  blockScoreAll?: Record<string, number>;
  batchLosses?: number[];
  calibration: Calibration["protocol"] | null;
  protocol: { dtype: "float32"; device: Device; softwareVersion: string };
}

export function isForwardCriterion(c: string): c is ForwardCriterion {
  return (FORWARD_CRITERIA as readonly string[]).includes(c);
}

export async function blockImportance(opts: BlockImportanceOptions): Promise<BlockImportanceResult> {
  // ---- all checks before any compute ----
  const criterion = opts.criterion;
  if (criterion === "taylor") return taylorBlockImportance(opts);
  if (!isForwardCriterion(criterion)) {
    throw new UserError(
      "bad_request",
      `unknown criterion ${JSON.stringify(criterion)} (known: ${FORWARD_CRITERIA.join(", ")}, taylor)`,
    );
  }
  const ckpt = openCheckpoint(opts.model);
  const L = ckpt.config.numHiddenLayers;
  const similarity = criterion === "bi" || criterion === "angular";
  const n = opts.group ?? 1;
  if (similarity && (!Number.isInteger(n) || n < 1 || n > L)) {
    throw new UserError("bad_request", `\`group\` must be an integer in 1..${L} (got ${n})`);
  }
  const { keepFirst, keepLast, batchSize } = importanceLimits(opts);
  const hasCalib =
    opts.calibIds !== undefined || opts.calibIdsFile !== undefined || opts.calibText !== undefined;
  const calib = criterion === "magnitude" && !hasCalib ? null : loadCalibration(opts, ckpt);
  const progress = (done: number, total: number) => opts.onProgress?.({ done, total });

  // ---- compute ----
  const run = {
    batchSize,
    device: opts.device,
    threads: opts.threads,
    signal: opts.signal,
    onProgress: progress,
  };
  const result: Partial<BlockImportanceResult> = {};
  let scores: number[];
  if (criterion === "ppl") {
    const r = await pplCriterion(ckpt, calib!, run);
    scores = r.scores;
    result.basePpl = r.basePpl;
    result.blockMeanNll = r.blockMeanNll;
  } else if (criterion === "magnitude") {
    const r = magnitudeCriterion(ckpt, opts.signal);
    scores = r.scores;
    result.weightScores = r.weightScores;
  } else {
    scores = await similarityCriterion(ckpt, calib!, { ...run, criterion, n, token: opts.token });
    result.group = n;
  }
  const order = stableOrder(scores);
  const group = similarity ? n : 1;
  if (group > 1) result.removeBest = Array.from({ length: group }, (_, k) => order[0]! + k);
  return {
    model: ckpt.dir,
    criterion,
    numLayers: L,
    scores,
    order,
    orderPlus: plusOrder(order, L, keepFirst, keepLast, group),
    keepFirst,
    keepLast,
    ...result,
    calibration: calib?.protocol ?? null,
    protocol: { dtype: "float32", device: opts.device ?? "cpu", softwareVersion: softwareVersion() },
  };
}
