// The token embedding h_0 = E[ids] (· the architecture's embedding scale), in the graph and on the host.
import type { Checkpoint } from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";
import { type Architecture, architectureOf, EMBEDDING } from "./architecture.js";
import { type ComputeDtype, roundThroughHalf, toFloat32 } from "./precision.js";

export function embedTokens(
  g: GraphBuilder,
  arch: Architecture,
  weight: (name: string) => string,
  ids: string,
  dtype: ComputeDtype = "float32",
): string {
  // A half embedding table is looked up, then its rows widened: the residual stream is float32.
  const h = toFloat32(g, dtype, g.node("Gather", [weight(EMBEDDING), ids], { axis: 0 }));
  return arch.embeddingScale === null ? h : g.node("Mul", [h, g.scalar(arch.embeddingScale)]);
}

/** h_0 of token ids computed on the host, exactly as the graph's Gather and Mul compute it (a float32 product,
 *  rounded once; in a half compute dtype, from the table rounded to it), for graphs that start at block 0 from
 *  hidden states. */
export function embeddingLookup(
  ckpt: Checkpoint,
  dtype: ComputeDtype = "float32",
): (ids: number[]) => Float32Array {
  const arch = architectureOf(ckpt.config);
  const H = arch.hiddenSize;
  const E = ckpt.readFloat32(EMBEDDING);
  if (dtype !== "float32") roundThroughHalf(E, dtype);
  const scale = arch.embeddingScale;
  return (ids) => {
    const h = new Float32Array(ids.length * H);
    ids.forEach((t, k) => {
      const row = E.subarray(t * H, (t + 1) * H);
      if (scale === null) h.set(row, k * H);
      else for (let d = 0; d < H; d++) h[k * H + d] = row[d]! * scale;
    });
    return h;
  };
}
