export {
  type Architecture,
  architectureOf,
  blockTensor,
  EMBEDDING,
  expectedShape,
  FINAL_NORM,
  LM_HEAD,
  layerName,
  parameterNames,
  parameterShapes,
} from "./architecture.js";
export { embeddingLookup } from "./embedding.js";
export { FAMILIES } from "./families.js";
export type { BlockOutput, BlockParts, BlockTensor, Family, FamilyFacts, LayerAttention } from "./family.js";
export {
  type BlockWeightInput,
  buildForwardGraph,
  type ForwardGraph,
  type ForwardGraphOptions,
  type WeightHooks,
} from "./forward-graph.js";
export {
  type ForwardFeed,
  type ForwardResult,
  ForwardSession,
  type ForwardSessionOptions,
} from "./forward-session.js";
export {
  COMPUTE_DTYPES,
  type ComputeDtype,
  checkComputeDtype,
  heldInComputeDtype,
  toHalfBits,
} from "./precision.js";
export { shiftedTargets } from "./targets.js";
export { checkRows, checkTokenIds } from "./token-checks.js";
export { checkpointWeights, openCheckpoint } from "./weights.js";
