export { continuationText, generationSpecialIds } from "./continuation.js";
export { type GenerateOptions, type GenerateResult, KvGenerator } from "./generator.js";
export {
  checkSampling,
  decodingSettings,
  type SamplingOptions,
  uniformStream,
  warpedDistribution,
} from "./sampling.js";
