// The linear layer, as PyTorch's nn.Linear.
import type { GraphBuilder } from "../graph/builder.js";
import { type ComputeDtype, computeMatMul } from "./precision.js";

/** y = x Wᵀ (+ b), with W stored [out, in] as in PyTorch. ORT folds the transpose of a constant weight. In a half
 *  compute dtype W is held in it (../models/weights.ts) and the product runs in it; y and b stay float32. */
export function linear(
  g: GraphBuilder,
  x: string,
  w: string,
  b?: string,
  dtype: ComputeDtype = "float32",
): string {
  const y = computeMatMul(g, dtype, x, g.node("Transpose", [w], { perm: [1, 0] }), true);
  return b ? g.node("Add", [y, b]) : y;
}
