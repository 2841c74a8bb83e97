export {
  type BenchmarkModel,
  type BenchmarkOptions,
  type BenchmarkResult,
  type BenchmarkRow,
  benchmarkGeneration,
} from "./benchmark.js";
export {
  blockLinearParams,
  forwardFlops,
  generationFlops,
  modelAndCacheBytes,
  parameterCount,
} from "./flops.js";
export { type GemmOptions, gemmCeiling, gemmRates } from "./gemm-ceiling.js";
export { measurePeakMemory, type PeakMemory } from "./peak-memory.js";
export { type Spread, spread } from "./stats.js";
