// Block importance by the forward-only criteria: ppl, sleb (iterative ppl), magnitude, bi, angular. Output: one score per block
// (per group start for angular with n > 1), the removal order (stable ascending sort: least important first)
// and the "+" order that never removes the first keepFirst / last keepLast blocks.
import { UserError } from "@shortened/contracts";
import type { Checkpoint } from "@shortened/hf";
import { softwareVersion } from "../eval/protocol.js";
import { type ExecutionPlan, planExecution } from "../execution/plan.js";
import { STACKED_TOKENS_PER_CALL } from "../execution/streamed-importance.js";
import { StreamedModel } from "../execution/streamed-model.js";
import type { Device } from "../graph/session.js";
import { type ComputeDtype, checkComputeDtype } from "../models/precision.js";
import { openCheckpoint } from "../models/weights.js";
import { type Calibration, type CalibrationOptions, loadCalibration } from "./calibration.js";
import { importanceLimits } from "./limits.js";
import { magnitudeCriterion } from "./magnitude.js";
import { plusOrder, stableOrder } from "./orders.js";
import { pplCriterion } from "./ppl.js";
import { similarityCriterion } from "./similarity.js";
import { slebCriterion } from "./sleb.js";
import { taylorBlockImportance } from "./taylor-criterion.js";

/** Criteria this module computes; `taylor` needs gradients and lives with the autodiff code. */
export const FORWARD_CRITERIA = ["ppl", "magnitude", "bi", "angular", "sleb"] as const;
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
  /** compute dtype (default float32; ../models/precision.ts) */
  dtype?: ComputeDtype;
  /** peak memory allowed ("4G", bytes); default SHORTENED_MEMORY_BUDGET, else a share of available memory */
  memoryBudget?: string | number;
  /** force the whole-model or the streamed plan (still refused when it does not fit) */
  execution?: "whole" | "streamed";
  /** the plan, once chosen, before the model is loaded */
  onPlan?: (plan: ExecutionPlan) => void;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
  /** sleb: stop after this many removals (default: every "+" candidate) */
  maxRemove?: number;
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
  protocol: { dtype: ComputeDtype; device: Device; softwareVersion: string };
  /** how the run met its memory budget (magnitude reads one tensor at a time and needs none) */
  plan?: ExecutionPlan;
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
  const dtype = checkComputeDtype(opts.dtype, opts.device);
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

  const plan =
    criterion === "magnitude"
      ? undefined
      : forwardPlan(ckpt, calib!, criterion, n, batchSize, { ...opts, dtype });
  if (plan) opts.onPlan?.(plan);
  if (criterion === "sleb" && plan?.mode === "streamed")
    throw new UserError(
      "bad_request",
      `the sleb criterion needs the whole model in memory (${plan.summary}); use ppl, or a larger memory budget`,
    );

  // ---- compute ----
  const streamedModel =
    plan?.mode === "streamed"
      ? await StreamedModel.open(ckpt, {
          device: opts.device,
          threads: opts.threads,
          maxSeqLen: calib!.seqLen,
          dtype,
        })
      : undefined;
  const run = {
    batchSize,
    device: opts.device,
    threads: opts.threads,
    dtype,
    signal: opts.signal,
    onProgress: progress,
    streamed: streamedModel && {
      model: streamedModel,
      rowsPerPass: plan!.rowsPerPass!,
      rowsPerCall: plan!.rowsPerCall,
    },
  };
  const result: Partial<BlockImportanceResult> = { plan };
  let scores: number[];
  let slebOrders: { order: number[]; orderPlus: number[] } | undefined;
  try {
    if (criterion === "sleb") {
      const r = await slebCriterion(ckpt, calib!, {
        ...run,
        keepFirst,
        keepLast,
        maxRemove: opts.maxRemove,
        onProgress: progress,
      });
      scores = r.scores;
      result.basePpl = r.basePpl;
      slebOrders = { order: r.order, orderPlus: r.orderPlus };
    } else if (criterion === "ppl") {
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
  } finally {
    await streamedModel?.release();
  }
  const order = slebOrders?.order ?? stableOrder(scores);
  const group = similarity ? n : 1;
  if (group > 1) result.removeBest = Array.from({ length: group }, (_, k) => order[0]! + k);
  return {
    model: ckpt.dir,
    criterion,
    numLayers: L,
    scores,
    order,
    orderPlus: slebOrders?.orderPlus ?? plusOrder(order, L, keepFirst, keepLast, group),
    keepFirst,
    keepLast,
    ...result,
    calibration: calib?.protocol ?? null,
    protocol: {
      dtype: criterion === "magnitude" ? "float32" : dtype,
      device: opts.device ?? "cpu",
      softwareVersion: softwareVersion(),
    },
  };
}

/** The plan of a criterion that runs the model: PPL keeps every block's input (L + 1 states) of its rows and
 *  stacks them into calls of up to STACKED_TOKENS_PER_CALL tokens, the similarity criteria keep the states back
 *  to l − n. */
function forwardPlan(
  ckpt: Checkpoint,
  calib: Calibration,
  criterion: "ppl" | "sleb" | "bi" | "angular",
  n: number,
  batchSize: number,
  opts: BlockImportanceOptions,
): ExecutionPlan {
  const L = ckpt.config.numHiddenLayers;
  const T = calib.seqLen;
  const ppl = criterion === "ppl" || criterion === "sleb";
  const head = ppl ? "nll" : "none";
  const streamedStates = ppl ? L + 1 : n + 1;
  return planExecution({
    config: ckpt.config,
    memoryBudget: opts.memoryBudget,
    what: ppl ? `the ${criterion === "ppl" ? "PPL" : "SLEB"} criterion` : `the ${criterion} criterion`,
    workload: { batch: batchSize, seqLen: T, head, keptStates: L + 1, dtype: opts.dtype },
    streamed: {
      workload: (rows) => ({ batch: batchSize, seqLen: T, head, keptStates: streamedStates, keptRows: rows }),
      minRows: Math.min(batchSize, calib.rows),
      maxRows: calib.rows,
      halfDtype: true,
      stackRows:
        criterion === "ppl"
          ? (rows) => Math.min((L + 1) * rows, Math.max(batchSize, Math.floor(STACKED_TOKENS_PER_CALL / T)))
          : undefined,
    },
    force: opts.execution,
  });
}
