export * from "./app.js";
export * from "./serialize.js";
export * from "./server.js";
