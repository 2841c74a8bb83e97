export {
  type BlockImportanceOptions,
  type BlockImportanceResult,
  blockImportance,
  FORWARD_CRITERIA,
  type ForwardCriterion,
  isForwardCriterion,
} from "./block-importance.js";
export {
  type Calibration,
  type CalibrationOptions,
  drawCalibrationRows,
  loadCalibration,
  readBatchFile,
} from "./calibration.js";
export { plusOrder, stableOrder } from "./orders.js";
export {
  type TaylorOptions,
  type TaylorResult,
  type TaylorRows,
  taylorImportance,
  taylorWeightNames,
} from "./taylor.js";
