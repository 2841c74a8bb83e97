export * from "./encode.js";
export * from "./formats.js";
export * from "./readers.js";
export * from "./registry.js";
export * from "./types.js";
