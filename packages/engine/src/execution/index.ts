// How a model meets memory: the budget, the peak estimate, the plan, block-streamed execution.
export * from "./budget.js";
export * from "./estimate.js";
export * from "./memory-size.js";
export * from "./plan.js";
export * from "./streamed-loglikelihoods.js";
export * from "./streamed-model.js";
export * from "./streamed-rows.js";
export * from "./streamed-taylor.js";
export * from "./tensor-reader.js";
