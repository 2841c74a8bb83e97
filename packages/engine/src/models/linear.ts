// The linear layer, as PyTorch's nn.Linear.
import type { GraphBuilder } from "../graph/builder.js";

/** y = x Wᵀ (+ b), with W stored [out, in] as in PyTorch. ORT folds the transpose of a constant weight. */
export function linear(g: GraphBuilder, x: string, w: string, b?: string): string {
  const y = g.node("MatMul", [x, g.node("Transpose", [w], { perm: [1, 0] })]);
  return b ? g.node("Add", [y, b]) : y;
}
