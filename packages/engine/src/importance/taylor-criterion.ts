// `blockImportance({ criterion: "taylor" })`: the same checks, calibration and result shape as the forward
// criteria (./block-importance.ts), with the scores from the gradient graph of ./taylor.ts.

import { softwareVersion } from "../eval/protocol.js";
import { planExecution } from "../execution/plan.js";
import { openCheckpoint } from "../models/weights.js";
import type { BlockImportanceOptions, BlockImportanceResult } from "./block-importance.js";
import { loadCalibration } from "./calibration.js";
import { importanceLimits } from "./limits.js";
import { plusOrder } from "./orders.js";
import { taylorImportance } from "./taylor.js";

export async function taylorBlockImportance(opts: BlockImportanceOptions): Promise<BlockImportanceResult> {
  const ckpt = openCheckpoint(opts.model);
  const L = ckpt.config.numHiddenLayers;
  const { keepFirst, keepLast, batchSize } = importanceLimits(opts);
  const calib = loadCalibration(opts, ckpt);
  // One gradient graph over every calibration row; not streamed yet, so it runs whole or is refused.
  const plan = planExecution({
    config: ckpt.config,
    memoryBudget: opts.memoryBudget,
    what: "Taylor+ importance",
    workload: { batch: calib.rows, seqLen: calib.seqLen, head: "nll", backward: true },
    smallerBatch: "fewer calibration rows (`calibration.n`)",
    force: opts.execution === "streamed" ? "streamed" : undefined,
  });
  opts.onPlan?.(plan);
  opts.onProgress?.({ done: 0, total: 1 });
  const r = await taylorImportance(
    ckpt,
    { flat: calib.flat, rows: calib.rows, seqLen: calib.seqLen },
    {
      batchSize,
      device: opts.device,
      threads: opts.threads,
      signal: opts.signal,
    },
  );
  opts.onProgress?.({ done: 1, total: 1 });
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
    protocol: { dtype: "float32", device: opts.device ?? "cpu", softwareVersion: softwareVersion() },
    plan,
  };
}
