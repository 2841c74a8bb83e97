export { ADAM_EPS, AdamW, BETA1, BETA2, type OptimizedTensor } from "./adamw.js";
export {
  type CptTrainOptions,
  type CptTrainResult,
  prepareCpt,
  trainCpt,
} from "./cpt.js";
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
export { type DistillOptions, type ResolvedDistill, resolveDistill } from "./distill.js";
export {
  CachedTeacher,
  cacheBodyBytes,
  teacherCacheKey,
  verifyTeacherCache,
} from "./distill-cache.js";
export {
  type BuildTeacherCacheOptions,
  type BuiltTeacherCache,
  buildTeacherCache,
  cacheBytesPerMillionTokens,
} from "./distill-cache-build.js";
export { GradSession, type GradSessionSpec, type TrainableTensor } from "./grad-session.js";
export { type LoraTrainOptions, type LoraTrainResult, prepareLora, trainLora } from "./lora.js";
export {
  defaultLoraTargets,
  initAdapter,
  type LoraModule,
  type LoraSpec,
  loraA,
  loraB,
  loraModules,
  loraSpec,
  readAdapter,
  writeAdapter,
} from "./lora-adapter.js";
export { type MergeOptions, type MergeResult, mergedWeight, mergeLora } from "./merge.js";
export {
  DEFAULT_PARTIAL_BLOCKS,
  type PartialOptions,
  partialParts,
  partialTensors,
} from "./partial.js";
export { lrMultiplier, SCHEDULES, type Schedule } from "./schedule.js";
export { LiveTeacher, type TeacherTargets, teacherLogProbs, topKIndices } from "./teacher-targets.js";
export {
  clearState,
  runTraining,
  type TeacherSource,
  type TrainCurve,
  type TrainOptions,
  type TrainProgress,
  type TrainRun,
  type TrainSpec,
} from "./trainer.js";
export { CURVE_FILE } from "./training-run.js";
