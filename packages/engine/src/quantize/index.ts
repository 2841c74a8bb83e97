// GPTQ weight quantization: running GPTQ checkpoints (MatMulNBits) and quantizing a model (see README, "Quantization").
export { gptqMatMul, type QuantizedRunOptions } from "./gptq-matmul.js";
export { type AccuracyLevel, type NBitsPlan, nbitsTensors, planNBits } from "./matmul-nbits.js";
