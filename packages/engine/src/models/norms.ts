// RMSNorm, the only norm of the supported families.
import type { GraphBuilder } from "../graph/builder.js";

/** RMSNorm(x) = x / sqrt(mean(x²) + eps) · w. Gemma scales by (1 + w) instead of w.
 *  Written as Pow → ReduceMean → Add → Sqrt → Div → Mul, the pattern ONNX Runtime fuses into one kernel. */
export function rmsNorm(g: GraphBuilder, x: string, w: string, eps: number, onePlusW = false): string {
  const meanSquare = g.node("ReduceMean", [g.node("Pow", [x, g.scalar(2)]), g.int64s([-1])], { keepdims: 1 });
  const rms = g.node("Sqrt", [g.node("Add", [meanSquare, g.scalar(eps)])]);
  const normed = g.node("Div", [x, rms]);
  return g.node("Mul", [normed, onePlusW ? g.node("Add", [g.scalar(1), w]) : w]);
}
