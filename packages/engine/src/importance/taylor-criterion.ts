// `blockImportance({ criterion: "taylor" })`: the same checks, calibration and result shape as the forward
// criteria (./block-importance.ts), with the scores from the gradient graph of ./taylor.ts.

import { softwareVersion } from "../eval/protocol.js";
import { planExecution } from "../execution/plan.js";
import { StreamedModel } from "../execution/streamed-model.js";
import { streamedTaylorImportance } from "../execution/streamed-taylor.js";
import { checkComputeDtype } from "../models/precision.js";
import { openCheckpoint } from "../models/weights.js";
import type { BlockImportanceOptions, BlockImportanceResult } from "./block-importance.js";
import { loadCalibration } from "./calibration.js";
import { importanceLimits } from "./limits.js";
import { plusOrder } from "./orders.js";
import { type TaylorResult, taylorImportance } from "./taylor.js";

export async function taylorBlockImportance(opts: BlockImportanceOptions): Promise<BlockImportanceResult> {
  const ckpt = openCheckpoint(opts.model);
  const L = ckpt.config.numHiddenLayers;
  const dtype = checkComputeDtype(opts.dtype, opts.device);
  const { keepFirst, keepLast, batchSize } = importanceLimits(opts);
  const calib = loadCalibration(opts, ckpt);
  // One gradient graph over every calibration row, or block-streamed: a block-wise backward with recomputation
  // that keeps every block's input for all rows (../execution/streamed-taylor.ts).
  const N = calib.rows;
  const T = calib.seqLen;
  const plan = planExecution({
    config: ckpt.config,
    memoryBudget: opts.memoryBudget,
    what: "Taylor+ importance",
    workload: { batch: N, seqLen: T, head: "nll", backward: true, dtype },
    streamed: {
      workload: () => ({ batch: N, seqLen: T, head: "nll", backward: true, keptStates: L + 1 }),
      minRows: N,
      maxRows: N,
      halfDtype: true,
    },
    smallerBatch: "fewer calibration rows (`calibration.n`)",
    force: opts.execution,
  });
  opts.onPlan?.(plan);
  const rows = { flat: calib.flat, rows: N, seqLen: T };
  let r: TaylorResult;
  if (plan.mode === "streamed") {
    const model = await StreamedModel.open(ckpt, {
      device: opts.device,
      threads: opts.threads,
      maxSeqLen: T,
      dtype,
    });
    try {
      r = await streamedTaylorImportance(model, rows, {
        batchSize,
        signal: opts.signal,
        onProgress: (done, total) => opts.onProgress?.({ done, total }),
      });
    } finally {
      await model.release();
    }
  } else {
    opts.onProgress?.({ done: 0, total: 1 });
    r = await taylorImportance(ckpt, rows, {
      batchSize,
      device: opts.device,
      threads: opts.threads,
      dtype,
      signal: opts.signal,
    });
    opts.onProgress?.({ done: 1, total: 1 });
  }
  return {
    criterion: "taylor",
    numLayers: L,
    scores: r.blockScores,
    order: r.blockOrder,
    orderPlus: plusOrder(r.blockOrder, L, keepFirst, keepLast),
    keepFirst,
    keepLast,
    weightScores: r.weightScores,
    blockScoreAll: r.blockScoreAll,
    batchLosses: r.batchLosses,
    calibration: calib.protocol,
    protocol: { dtype, device: opts.device ?? "cpu", softwareVersion: softwareVersion() },
    plan,
  };
}
