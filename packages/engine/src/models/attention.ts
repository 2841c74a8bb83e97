// Softmax attention with grouped-query heads, and its additive mask (causal, sliding window, past positions of a
// KV cache, left padding). Only plain, differentiable ONNX ops, so ../autodiff can differentiate the graphs; no
// com.microsoft fused kernels.
import type { GraphBuilder } from "../graph/builder.js";
import { type ComputeDtype, computeMatMul } from "./precision.js";

/** [B, T, heads·d] → [B, heads, T, d] */
export function splitHeads(g: GraphBuilder, x: string, heads: number, headDim: number): string {
  const r = g.node("Reshape", [x, g.int64s([0, 0, heads, headDim])]);
  return g.node("Transpose", [r], { perm: [0, 2, 1, 3] });
}

/** [B, heads, T, d] → [B, T, heads·d] */
export function mergeHeads(g: GraphBuilder, x: string, heads: number, headDim: number): string {
  const t = g.node("Transpose", [x], { perm: [0, 2, 1, 3] });
  return g.node("Reshape", [t, g.int64s([0, 0, heads * headDim])]);
}

export interface AttentionDims {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** scores = q·kᵀ · scale; null (default): q·kᵀ / √headDim */
  scale?: number | null;
  /** scores soft-capped as tanh(s/c)·c before the mask (Gemma-2), or null */
  softcap?: number | null;
  /** the dtype of q·kᵀ and p·v (./precision.ts); scores, mask and softmax stay float32 */
  dtype?: ComputeDtype;
}

/**
 * softmax(cap(q kᵀ / sqrt(d)) + mask) v with grouped-query attention: kv head j serves query heads j·rep … j·rep+rep−1
 * (HF repeat_interleave). q is [B, heads, Tq, d]; k, v are [B, kvHeads, Tk, d]. Instead of copying k and v rep
 * times, the rep query heads of a group are stacked along the sequence axis, [B, kvHeads, rep·Tq, d], so one
 * MatMul per group serves them all; `mask` is therefore [rep·Tq, Tk] (see `attentionMask`).
 */
export function groupedQueryAttention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  mask: string,
  dims: AttentionDims,
): string {
  const { heads, kvHeads, headDim } = dims;
  const grouped = heads === kvHeads ? q : g.node("Reshape", [q, g.int64s([0, kvHeads, -1, headDim])]);
  const kT = g.node("Transpose", [k], { perm: [0, 1, 3, 2] });
  const dtype = dims.dtype ?? "float32";
  const qk = computeMatMul(g, dtype, grouped, kT, false);
  let scores =
    dims.scale === undefined || dims.scale === null
      ? g.node("Div", [qk, g.scalar(Math.sqrt(headDim))])
      : g.node("Mul", [qk, g.scalar(dims.scale)]);
  if (dims.softcap !== undefined && dims.softcap !== null) scores = softcap(g, scores, dims.softcap);
  const probs = g.node("Softmax", [g.node("Add", [scores, mask])], { axis: -1 });
  const out = computeMatMul(g, dtype, probs, v, false);
  return heads === kvHeads ? out : g.node("Reshape", [out, g.int64s([0, heads, -1, headDim])]);
}

/**
 * The additive mask of T new queries at positions P..P+T−1 over P + T keys (P cached, then the new ones): 0 where
 * key j is visible from query i (j ≤ P + i, and P + i − j < window when the layer has a sliding window), −∞
 * elsewhere. With `keyValid` [B, P+T] (bool; false for left padding) the mask is per row, [B, 1, T, P+T], and
 * masked scores get −1e9 rather than −∞ so that an all-padding query row stays finite. Rows are repeated for the
 * `rep` query heads a grouped kv head serves. `past` and `total` are scalar int64 values (P and P + T).
 */
export function attentionMask(
  g: GraphBuilder,
  pos: { past: string; total: string },
  slidingWindow: number | null,
  rep: number,
  keyValid?: string,
): string {
  const one = g.constant("int64", [], [1n]);
  const qPos = g.node("Unsqueeze", [g.node("Range", [pos.past, pos.total, one]), g.int64s([1])]);
  const kPos = g.node("Unsqueeze", [
    g.node("Range", [g.constant("int64", [], [0n]), pos.total, one]),
    g.int64s([0]),
  ]);
  let visible = g.node("LessOrEqual", [kPos, qPos]);
  if (slidingWindow !== null) {
    // Mistral: key j is visible from query i iff 0 ≤ i − j < W (only bites when P + T > W).
    const inWindow = g.node("Less", [
      g.node("Sub", [qPos, kPos]),
      g.constant("int64", [], [BigInt(slidingWindow)]),
    ]);
    visible = g.node("And", [visible, inWindow]);
  }
  if (keyValid) {
    const valid = g.node("Unsqueeze", [keyValid, g.int64s([1, 2])]); // [B, 1, 1, P+T]
    visible = g.node("And", [visible, valid]); // [B, 1, T, P+T]
  }
  const masked = keyValid ? -1e9 : Number.NEGATIVE_INFINITY;
  const mask = g.node("Where", [visible, g.scalar(0), g.scalar(masked)]);
  if (rep === 1) return mask;
  return g.node("Tile", [mask, g.int64s(keyValid ? [1, 1, rep, 1] : [rep, 1])]);
}

/** Soft-capping tanh(x / c) · c (Gemma-2's attention scores and final logits). */
export function softcap(g: GraphBuilder, x: string, c: number): string {
  return g.node("Mul", [g.node("Tanh", [g.node("Div", [x, g.scalar(c)])]), g.scalar(c)]);
}
