// @shortened/engine: ONNX graphs built in TypeScript and run by onnxruntime-node, by concept (see README,
// "The forward engine").
export * from "./autodiff/index.js";
export * from "./bench/index.js";
export * from "./eval/index.js";
export * from "./execution/index.js";
export * from "./export/index.js";
export * from "./generate/index.js";
export * from "./graph/builder.js";
export * from "./graph/session.js";
export * from "./importance/index.js";
export * from "./models/index.js";
export * from "./quantize/index.js";
export { mulberry32, randbelow } from "./random.js";
export * from "./retrain/index.js";
