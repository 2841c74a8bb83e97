export {
  type PerplexityOptions,
  type PerplexityProtocol,
  type PerplexityResult,
  perplexity,
} from "./perplexity.js";
export { BOS_POLICIES, type BosPolicy, evaluationWindows } from "./perplexity-windows.js";
export { softwareVersion } from "./protocol.js";
export * from "./zeroshot/index.js";
