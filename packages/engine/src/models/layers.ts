// The pieces every LLaMA-family block is made of, written as ONNX graph fragments that read like the
// equations of the Hugging Face modelling code (and the paper). Only plain, differentiable ONNX ops are
// used on the path from weights to loss, so that the reverse-mode pass in ../autodiff can differentiate
// these graphs; no com.microsoft fused kernels.
import type { GraphBuilder } from "../graph/builder.js";

/** RMSNorm(x) = x / sqrt(mean(x²) + eps) · w. Gemma scales by (1 + w) instead of w.
 *  Written as Pow → ReduceMean → Add → Sqrt → Div → Mul, the pattern ONNX Runtime fuses into one kernel. */
export function rmsNorm(g: GraphBuilder, x: string, w: string, eps: number, onePlusW = false): string {
  const meanSquare = g.node("ReduceMean", [g.node("Pow", [x, g.scalar(2)]), g.int64s([-1])], { keepdims: 1 });
  const rms = g.node("Sqrt", [g.node("Add", [meanSquare, g.scalar(eps)])]);
  const normed = g.node("Div", [x, rms]);
  return g.node("Mul", [normed, onePlusW ? g.node("Add", [g.scalar(1), w]) : w]);
}

/** y = x Wᵀ (+ b), with W stored [out, in] as in PyTorch. ORT folds the transpose of a constant weight. */
export function linear(g: GraphBuilder, x: string, w: string, b?: string): string {
  const y = g.node("MatMul", [x, g.node("Transpose", [w], { perm: [1, 0] })]);
  return b ? g.node("Add", [y, b]) : y;
}

/** Rotary tables cos/sin(cat(p·θ^(-2i/d), p·θ^(-2i/d))) for positions 0..maxLen-1, shape [maxLen, d],
 *  computed in float64 and rounded once (the oracle's default `--rope-precision f64`). */
export function rotaryTables(
  headDim: number,
  theta: number,
  maxLen: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const invFreq = Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  const cos = new Float32Array(maxLen * headDim);
  const sin = new Float32Array(maxLen * headDim);
  for (let p = 0; p < maxLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * headDim + i] = c;
      cos[p * headDim + half + i] = c;
      sin[p * headDim + i] = s;
      sin[p * headDim + half + i] = s;
    }
  }
  return { cos, sin };
}

/** rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2]) on the last axis. */
export function rotateHalf(g: GraphBuilder, x: string, headDim: number): string {
  const half = headDim / 2;
  const lo = g.node("Slice", [x, g.int64s([0]), g.int64s([half]), g.int64s([-1])]);
  const hi = g.node("Slice", [x, g.int64s([half]), g.int64s([headDim]), g.int64s([-1])]);
  return g.node("Concat", [g.node("Neg", [hi]), lo], { axis: -1 });
}

/** RoPE in the HF half layout: x·cos + rotate_half(x)·sin, with cos/sin [T, d] broadcast over batch and heads. */
export function applyRotary(g: GraphBuilder, x: string, cos: string, sin: string, headDim: number): string {
  return g.node("Add", [g.node("Mul", [x, cos]), g.node("Mul", [rotateHalf(g, x, headDim), sin])]);
}

/** The additive attention mask [T, T]: 0 where key j is visible from query i (j ≤ i, and i − j < window when
 *  a sliding window is set), −∞ elsewhere. `seqLen` is a scalar int64 value of the graph. */
export function causalMask(g: GraphBuilder, seqLen: string, slidingWindow: number | null): string {
  const pos = g.node("Range", [g.constant("int64", [], [0n]), seqLen, g.constant("int64", [], [1n])]);
  const i = g.node("Unsqueeze", [pos, g.int64s([1])]);
  const j = g.node("Unsqueeze", [pos, g.int64s([0])]);
  let visible = g.node("LessOrEqual", [j, i]);
  if (slidingWindow !== null) {
    // Mistral: key j is visible from query i iff 0 ≤ i − j < W (only bites when T > W).
    const inWindow = g.node("Less", [
      g.node("Sub", [i, j]),
      g.constant("int64", [], [BigInt(slidingWindow)]),
    ]);
    visible = g.node("And", [visible, inWindow]);
  }
  return g.node("Where", [visible, g.scalar(0), g.scalar(Number.NEGATIVE_INFINITY)]);
}

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

/**
 * softmax(q kᵀ / sqrt(d) + mask) v with grouped-query attention: kv head j serves query heads j·rep … j·rep+rep−1
 * (HF repeat_interleave). q is [B, heads, T, d]; k, v are [B, kvHeads, T, d]. Instead of copying k and v rep
 * times, the rep query heads of a group are stacked along the sequence axis, [B, kvHeads, rep·T, d], so one
 * MatMul per group serves them all; `mask` must then be [rep·T, T] (see `groupMask`).
 */
export function groupedQueryAttention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  mask: string,
  dims: { heads: number; kvHeads: number; headDim: number },
): string {
  const { heads, kvHeads, headDim } = dims;
  const grouped = heads === kvHeads ? q : g.node("Reshape", [q, g.int64s([0, kvHeads, -1, headDim])]);
  const kT = g.node("Transpose", [k], { perm: [0, 1, 3, 2] });
  const scores = g.node("Div", [g.node("MatMul", [grouped, kT]), g.scalar(Math.sqrt(headDim))]);
  const probs = g.node("Softmax", [g.node("Add", [scores, mask])], { axis: -1 });
  const out = g.node("MatMul", [probs, v]);
  return heads === kvHeads ? out : g.node("Reshape", [out, g.int64s([0, heads, -1, headDim])]);
}

/** The [T, T] mask repeated for the rep query heads stacked in a group: [rep·T, T]. */
export function groupMask(g: GraphBuilder, mask: string, rep: number): string {
  return rep === 1 ? mask : g.node("Tile", [mask, g.int64s([rep, 1])]);
}

/** GQA by copying: kv head j repeated for query heads j·rep … j·rep+rep−1 (HF repeat_interleave), [B, kv·rep, T, d].
 *  The forward graph uses `groupedQueryAttention`, which needs no copies; this stays for graphs whose keys and
 *  values are not laid out per group (e.g. a KV cache). */
export function repeatKv(g: GraphBuilder, x: string, kvHeads: number, rep: number, headDim: number): string {
  if (rep === 1) return x;
  const u = g.node("Unsqueeze", [x, g.int64s([2])]); // [B, kv, 1, T, d]
  const e = g.node("Expand", [u, g.int64s([1, 1, rep, 1, 1])]); // [B, kv, rep, T, d]
  return g.node("Reshape", [e, g.int64s([0, kvHeads * rep, -1, headDim])]);
}

/** softmax(q kᵀ / sqrt(d) + mask) v for q, k, v [B, h, Tq/Tk, d] with as many key heads as query heads. */
export function scaledDotProductAttention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  mask: string,
  headDim: number,
): string {
  const kT = g.node("Transpose", [k], { perm: [0, 1, 3, 2] });
  const scores = g.node("Div", [g.node("MatMul", [q, kT]), g.scalar(Math.sqrt(headDim))]);
  const probs = g.node("Softmax", [g.node("Add", [scores, mask])], { axis: -1 });
  return g.node("MatMul", [probs, v]);
}

/** The MLP activations of the supported configs. */
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

/** Per-token negative log-likelihood −log softmax(logits)[target] for logits [B, T, V], targets [B, T]. */
export function tokenNll(g: GraphBuilder, logits: string, targets: string): string {
  const logProbs = g.node("LogSoftmax", [logits], { axis: -1 });
  const picked = g.node("GatherElements", [logProbs, g.node("Unsqueeze", [targets, g.int64s([2])])], {
    axis: 2,
  });
  return g.node("Neg", [g.node("Squeeze", [picked, g.int64s([2])])]);
}
