export { type FloatType, VjpContext, type VjpRule } from "./context.js";
export { type GradOptions, grad, vjpRules } from "./grad.js";
export { inferShapes, type SDim, type SShape } from "./shapes.js";
