export * from "./autodiff/index.js";
export * from "./bench/index.js";
export * from "./generate/index.js";
export * from "./graph/builder.js";
export * from "./graph/session.js";
export {
  type ForwardFeed,
  type ForwardResult,
  ForwardSession,
  type ForwardSessionOptions,
  openCheckpoint,
} from "./models/forward-session.js";
export * as layers from "./models/layers.js";
export {
  buildForwardGraph,
  type ForwardGraph,
  type ForwardGraphOptions,
  layerName,
  type WeightHooks,
} from "./models/llama.js";
export { shiftedTargets } from "./models/targets.js";
export { checkRows, checkTokenIds } from "./models/token-checks.js";
export {
  checkCheckpointTensors,
  checkpointWeights,
  expectedShape,
  parameterNames,
} from "./models/weights.js";
export {
  type CptLoraResult,
  type CptTrainOptions,
  type CptTrainResult,
  prepareCpt,
  trainCpt,
  trainCptThenLora,
} from "./ops/cpt.js";
export {
  type BlockImportanceOptions,
  type BlockImportanceResult,
  blockImportance,
  FORWARD_CRITERIA,
  type ForwardCriterion,
  isForwardCriterion,
} from "./ops/importance.js";
export {
  type Calibration,
  type CalibrationOptions,
  drawCalibrationRows,
  loadCalibration,
  mulberry32,
  randbelow,
  readBatchFile,
} from "./ops/importance-calibration.js";
export { plusOrder, stableOrder } from "./ops/importance-orders.js";
export { type LoraTrainOptions, type LoraTrainResult, prepareLora, trainLora } from "./ops/lora.js";
export { type MergeOptions, type MergeResult, mergedWeight, mergeLora } from "./ops/merge.js";
export {
  type PerplexityOptions,
  type PerplexityProtocol,
  type PerplexityResult,
  perplexity,
} from "./ops/perplexity.js";
export { BOS_POLICIES, type BosPolicy, evaluationWindows } from "./ops/perplexity-windows.js";
export { softwareVersion } from "./ops/protocol.js";
export {
  type TaylorOptions,
  type TaylorResult,
  type TaylorRows,
  taylorImportance,
  taylorWeightNames,
} from "./ops/taylor.js";
export { CURVE_FILE } from "./ops/train-common.js";
export * from "./ops/zeroshot/index.js";
export * from "./train/index.js";
