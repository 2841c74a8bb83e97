export * from "./onnx-decoder.js";
