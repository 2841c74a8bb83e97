// The head of block-streamed execution (./streamed-model.ts) over one chunk of vocabulary rows at a time: the
// chunk's weight rows are an input, so one session serves every chunk and only one chunk is in memory.
import { GraphBuilder } from "../graph/builder.js";
import type { Architecture } from "../models/architecture.js";
import { softcap } from "../models/attention.js";
import { rmsNorm } from "../models/norms.js";
import { type ComputeDtype, computeMatMul } from "../models/precision.js";

/** The logits [tokens, rows] of one chunk of head rows `w` (in `dtype`): cap(RMSNorm(h) wᵀ), the product in the
 *  compute dtype as ../models/head.ts. */
export function headChunkLogits(
  g: GraphBuilder,
  arch: Architecture,
  h: string,
  w: string,
  norm: string,
  dtype: ComputeDtype,
): string {
  const normed = rmsNorm(g, h, norm, arch.normEps, arch.normOnePlusWeight);
  const raw =
    dtype === "float32"
      ? g.node("Gemm", [normed, w], { transB: 1 })
      : computeMatMul(g, dtype, normed, g.node("Transpose", [w], { perm: [1, 0] }), true);
  return arch.finalSoftcap === null ? raw : softcap(g, raw, arch.finalSoftcap);
}

/** The head over one chunk of vocabulary rows: RMSNorm(h) W_cᵀ (soft-capped as the whole head), reduced for the NLL to each token's chunk max,
 *  Σ exp(logit − max) and its target's logit (targets given relative to the chunk), or the logits themselves.
 *  In a half dtype the chunk comes in it and the product runs in it, as ../models/head.ts. */
export function headGraph(
  arch: Architecture,
  finalNorm: Float32Array,
  out: "nll" | "logits",
  dtype: ComputeDtype,
): GraphBuilder {
  const g = new GraphBuilder();
  const H = arch.hiddenSize;
  const h = g.input("hidden", "float32", ["tokens", H]);
  const w = g.input("head_weight", dtype, ["rows", H]);
  const norm = g.initializer("final_norm", { type: "float32", dims: [H], data: finalNorm });
  const logits = headChunkLogits(g, arch, h, w, norm, dtype);
  if (out === "logits") {
    g.output(g.rename(logits, "logits"), "float32", ["tokens", "rows"]);
    return g;
  }
  const targets = g.input("targets", "int64", ["tokens"]);
  const axis = g.int64s([1]);
  const max = g.node("ReduceMax", [logits, axis], { keepdims: 1 });
  const sumExp = g.node("ReduceSum", [g.node("Exp", [g.node("Sub", [logits, max])]), axis], { keepdims: 0 });
  const picked = g.node("GatherElements", [logits, g.node("Unsqueeze", [targets, axis])], { axis: 1 });
  g.output(g.rename(g.node("Squeeze", [max, axis]), "chunk_max"), "float32", ["tokens"]);
  g.output(g.rename(sumExp, "chunk_sumexp"), "float32", ["tokens"]);
  g.output(g.rename(g.node("Squeeze", [picked, axis]), "target_logit"), "float32", ["tokens"]);
  return g;
}
