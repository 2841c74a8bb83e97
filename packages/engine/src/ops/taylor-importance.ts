// `blockImportance({ criterion: "taylor" })`: the same checks, calibration and result shape as the forward
// criteria (./importance.ts), with the scores from the gradient graph of ./taylor.ts.
import { UserError } from "@shortened/contracts";
import { openCheckpoint } from "../models/forward-session.js";
import type { BlockImportanceOptions, BlockImportanceResult } from "./importance.js";
import { loadCalibration } from "./importance-calibration.js";
import { plusOrder } from "./importance-orders.js";
import { softwareVersion } from "./protocol.js";
import { taylorImportance } from "./taylor.js";

export async function taylorBlockImportance(opts: BlockImportanceOptions): Promise<BlockImportanceResult> {
  const ckpt = openCheckpoint(opts.model);
  const L = ckpt.config.numHiddenLayers;
  const keepFirst = opts.keepFirst ?? 4;
  const keepLast = opts.keepLast ?? 2;
  for (const [k, v] of [
    ["--keep-first", keepFirst],
    ["--keep-last", keepLast],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new UserError("bad_request", `${k} must be a non-negative integer (got ${v})`);
  }
  const batchSize = opts.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UserError("bad_request", "--batch-size must be a positive integer");
  const calib = loadCalibration(opts, ckpt);
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
  };
}
