// The language-model head: logits = cap(RMSNorm(h) Eᵀ) (E = lm_head, or the embedding when tied), and the fused
// per-token loss NLL_t = −log softmax(logits_t)[target_t].
import type { GraphBuilder } from "../graph/builder.js";
import { type Architecture, EMBEDDING, FINAL_NORM, LM_HEAD } from "./architecture.js";
import { softcap } from "./attention.js";
import { rmsNorm } from "./norms.js";
import { type ComputeDtype, computeMatMul } from "./precision.js";

/** Logits [B, T, V] of hidden states [B, T, H]; with `lastOnly`, [B, V] of the last position alone (only it is
 *  normed and projected). Gemma-2/3 soft-cap them (tanh(z/c)·c): losses, PPL, scoring and sampling see the capped
 *  logits. With a half `dtype` the head weight is held in it (../models/precision.ts). */
export function lmHead(
  g: GraphBuilder,
  arch: Architecture,
  weight: (name: string) => string,
  h: string,
  lastOnly = false,
  dtype: ComputeDtype = "float32",
): string {
  const x = lastOnly
    ? g.node("Squeeze", [
        g.node("Slice", [h, g.int64s([-1]), g.int64s([2 ** 62]), g.int64s([1])]),
        g.int64s([1]),
      ])
    : h;
  const normed = rmsNorm(g, x, weight(FINAL_NORM), arch.normEps, arch.normOnePlusWeight);
  const head = weight(arch.tiedHead ? EMBEDDING : LM_HEAD);
  // In a half compute dtype the logits are rounded to it once (as transformers' fp16 lm_head), then widened:
  // the log-softmax over the vocabulary runs in float32.
  const logits = computeMatMul(g, dtype, normed, g.node("Transpose", [head], { perm: [1, 0] }), true);
  return arch.finalSoftcap === null ? logits : softcap(g, logits, arch.finalSoftcap);
}

/** Per-token negative log-likelihood −log softmax(logits)[target] for logits [B, T, V], targets [B, T]. */
export function tokenNll(g: GraphBuilder, logits: string, targets: string): string {
  const logProbs = g.node("LogSoftmax", [logits], { axis: -1 });
  const picked = g.node("GatherElements", [logProbs, g.node("Unsqueeze", [targets, g.int64s([2])])], {
    axis: 2,
  });
  return g.node("Neg", [g.node("Squeeze", [picked, g.int64s([2])])]);
}
