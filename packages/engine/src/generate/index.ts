export { continuationText, generationSpecialIds } from "./continuation.js";
export { type GenerateOptions, type GenerateResult, KvGenerator } from "./generator.js";
export { buildKvGraph, type KvGraph } from "./kv-graph.js";
export {
  checkSampling,
  decodingSettings,
  type SamplingOptions,
  uniformStream,
  warpedDistribution,
} from "./sampling.js";
