// GPTQ weight quantization: running GPTQ checkpoints (MatMulNBits) and quantizing a model (see README, "GPTQ").

export { type GptqSettings, prepareHessian, quantizeLinear } from "./gptq-linear.js";
export { gptqMatMul, type QuantizedRunOptions } from "./gptq-matmul.js";
export { type AccuracyLevel, type NBitsPlan, nbitsTensors, planNBits } from "./matmul-nbits.js";
export {
  checkQuantizable,
  type LayerReport,
  type QuantizeModelOptions,
  type QuantizeModelResult,
  quantizeModel,
  trueSequentialGroups,
} from "./quantize-model.js";
export { estimateQuantize, planQuantize, type QuantizeEstimate, type QuantizePlan } from "./quantize-plan.js";
