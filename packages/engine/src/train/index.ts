export { ADAM_EPS, AdamW, BETA1, BETA2, type OptimizedTensor } from "./adamw.js";
export {
  alpacaPrompt,
  alpacaRows,
  IGNORE,
  type MicroBatch,
  microBatch,
  packedTextRows,
  readIdsRows,
  type TrainRows,
} from "./data.js";
export { GradSession, type GradSessionSpec, type TrainableTensor } from "./grad-session.js";
export {
  initAdapter,
  type LoraModule,
  type LoraSpec,
  loraA,
  loraB,
  loraSpec,
  readAdapter,
  writeAdapter,
} from "./lora-adapter.js";
export { lrMultiplier, SCHEDULES, type Schedule } from "./schedule.js";
export { type NamedTensor, readTensorFile, writeTensorFile } from "./tensor-file.js";
export {
  clearState,
  runTraining,
  type TrainCurve,
  type TrainOptions,
  type TrainProgress,
  type TrainRun,
  type TrainSpec,
} from "./trainer.js";
