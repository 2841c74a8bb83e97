export * from "./onnx-decoder.js";
export * from "./onnx-greedy.js";
