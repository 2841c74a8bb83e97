export * from "./errors.js";
export * from "./jobs.js";
export * from "./ports.js";
export * from "./resources.js";
export * from "./responses.js";
export * from "./teams.js";
