export { type LoglikelihoodOptions, loglikelihoods } from "./loglikelihood.js";
export { type ItemScore, scoreItem } from "./metrics.js";
export {
  HARNESS_COMMIT,
  type TaskResult,
  type ZeroShotOptions,
  type ZeroShotResult,
  zeroShot,
} from "./zero-shot.js";
