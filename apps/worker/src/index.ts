export * from "./config.js";
export * from "./main.js";
export * from "./metrics.js";
export * from "./semaphore.js";
export * from "./worker.js";
