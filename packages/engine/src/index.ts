export * from "./graph/builder.js";
export * from "./graph/session.js";
