// The gated MLP of the LLaMA family and the activations of the supported configs.
import type { GraphBuilder } from "../graph/builder.js";
import type { BlockParts } from "./family.js";

/** Block i's MLP on its normed input x: down(act(gate(x)) · up(x)). */
export function gatedMlp(p: BlockParts, i: number, x: string): string {
  const gated = p.g.node("Mul", [p.act(p.linear(x, i, "mlp.gate_proj")), p.linear(x, i, "mlp.up_proj")]);
  return p.linear(gated, i, "mlp.down_proj");
}

export function activation(g: GraphBuilder, x: string, name: string): string {
  switch (name) {
    case "silu":
    case "swish":
      return g.node("Mul", [x, g.node("Sigmoid", [x])]);
    case "gelu_pytorch_tanh":
    case "gelu_new":
    case "gelu_fast": {
      // 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))
      const cube = g.node("Mul", [g.node("Mul", [x, x]), x]);
      const inner = g.node("Mul", [
        g.scalar(Math.sqrt(2 / Math.PI)),
        g.node("Add", [x, g.node("Mul", [g.scalar(0.044715), cube])]),
      ]);
      const t = g.node("Add", [g.scalar(1), g.node("Tanh", [inner])]);
      return g.node("Mul", [g.node("Mul", [g.scalar(0.5), x]), t]);
    }
    case "gelu": {
      // exact GELU: 0.5·x·(1 + erf(x / sqrt(2)))
      const e = g.node("Erf", [g.node("Div", [x, g.scalar(Math.SQRT2)])]);
      return g.node("Mul", [g.node("Mul", [g.scalar(0.5), x]), g.node("Add", [g.scalar(1), e])]);
    }
    default:
      throw new Error(`activation ${name} is not supported`);
  }
}
