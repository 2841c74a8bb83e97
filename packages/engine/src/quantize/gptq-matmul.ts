// The forward graph's `matmul` hook for a GPTQ checkpoint: each quantized linear runs as MatMulNBits (act-order
// by a Gather of the input channels; ./matmul-nbits.ts), or, where MatMulNBits cannot hold it (3 bits), as the
// float MatMul of its dequantized weight (Checkpoint.readFloat32 dequantizes exactly).
import type { Checkpoint } from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";
import { type AccuracyLevel, matMulNBits, planNBits } from "./matmul-nbits.js";

export interface QuantizedRunOptions {
  /** MatMulNBits accuracy_level (default 0: exact against the dequantized float MatMul) */
  accuracyLevel?: AccuracyLevel;
  /** "dequantized": every linear as a float MatMul of its dequantized weight (the reference path) */
  quantizedLinears?: "nbits" | "dequantized";
}

/** The matmul hook for `ckpt` (undefined for a float checkpoint). */
export function gptqMatMul(
  g: GraphBuilder,
  ckpt: Checkpoint,
  opts: QuantizedRunOptions = {},
): ((x: string, prefix: string) => string | null) | undefined {
  const q = ckpt.config.quantization;
  if (!q || opts.quantizedLinears === "dequantized") return undefined;
  const gathers = new Map<string, string>();
  const gather = (x: string, perm: Int32Array): string => {
    const key = `${x}|${perm.join(",")}`;
    let y = gathers.get(key);
    if (!y) {
      const idx = g.initializer(g.fresh("perm"), {
        type: "int64",
        dims: [perm.length],
        data: BigInt64Array.from(perm, (v) => BigInt(v)),
      });
      y = g.node("Gather", [x, idx], { axis: -1 });
      gathers.set(key, y);
    }
    return y;
  };
  return (x, prefix) => {
    if (!ckpt.has(`${prefix}.qweight`)) return null;
    // g_idx and zeros are small; the codes are read when the graph is serialized
    const lin = ckpt.gptqGroups(prefix);
    const plan = planNBits(q.bits, lin.gIdx, lin.groups, lin.zeros);
    if ("unsupported" in plan) return null;
    const shape = { K: lin.inFeatures, N: lin.outFeatures, bits: q.bits };
    return matMulNBits(
      g,
      x,
      prefix,
      shape,
      plan,
      () => ckpt.gptqLinear(prefix),
      opts.accuracyLevel ?? 0,
      gather,
    );
  };
}
