// The handler table: one file per job kind. A kind without a handler here is refused at submission
// with a clear message. Add a kind by writing
// handlers/<kind>.ts and listing it below.
import type { JobKind } from "@shortened/contracts";
import { benchmark } from "./benchmark.js";
import { evaluate } from "./evaluate.js";
import { exportModel } from "./export.js";
import { importance } from "./importance.js";
import { merge } from "./merge.js";
import { pipeline } from "./pipeline.js";
import { prune } from "./prune.js";
import { push } from "./push.js";
import { quantize } from "./quantize.js";
import { retrain } from "./retrain.js";
import { study } from "./study.js";
import type { Handler } from "./types.js";

export type HandlerTable = { [K in JobKind]?: Handler<K> };

export const handlers: HandlerTable = {
  importance,
  prune,
  retrain,
  merge,
  evaluate,
  benchmark,
  pipeline,
  quantize,
  study,
  export: exportModel,
  push,
};

export function availableKinds(table: HandlerTable = handlers): JobKind[] {
  return Object.keys(table) as JobKind[];
}

export { zeroShotDataDir } from "./evaluate-zeroshot.js";
export { retrainPhaseFolders } from "./retrain.js";
export type { Handler } from "./types.js";
