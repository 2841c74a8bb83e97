// LLaMA (LLaMA-1/2/3, Vicuna) and Mistral, as transformers' modeling_llama.py. Block i:
//
//   x = RMSNorm(h);  q, k, v = x Wqᵀ (+bq), x Wkᵀ (+bk), x Wvᵀ (+bv);  q, k = RoPE(q), RoPE(k)
//   a = softmax(q kᵀ / √d + mask) v Woᵀ (+bo)
//   m = down(act(gate(RMSNorm(h + a))) · up(RMSNorm(h + a)))
//
// Biases follow attention_bias (q, k, v, o) and mlp_bias (the tensors: @shortened/hf tensor-layout.ts); Mistral masks keys further back than its sliding
// window (the mask is the forward graph's, from the layer's attention facts).
import { blockTensorLayout, type ModelConfig } from "@shortened/hf";
import type { BlockOutput, BlockParts, Family, LayerAttention } from "./family.js";
import { gatedMlp } from "./mlp.js";

/** Each layer's window from the config (Mistral: every layer; Qwen2/Qwen3: layer_types or max_window_layers;
 *  Gemma-2/3: layer_types or their alternation), and its rotary embedding (gemma3_text's sliding layers: local). */
export function layerAttention(c: ModelConfig): LayerAttention[] {
  const local = c.ropeLocalTheta !== null;
  return c.layerWindows.map((w) => ({
    slidingWindow: w,
    rope: local && w !== null ? ("local" as const) : ("global" as const),
  }));
}

/** Self-attention of block i on its normed input x, through o_proj: q, k, v projections, [per-head q_norm /
 *  k_norm,] RoPE on q and k, attention. */
export function selfAttention(p: BlockParts, i: number, x: string, qkNorm = false): string {
  const { arch } = p;
  let q = p.heads(p.linear(x, i, "self_attn.q_proj"), arch.numHeads);
  let k = p.heads(p.linear(x, i, "self_attn.k_proj"), arch.numKvHeads);
  const v = p.heads(p.linear(x, i, "self_attn.v_proj"), arch.numKvHeads);
  if (qkNorm) {
    q = p.normWith(q, i, "self_attn.q_norm.weight");
    k = p.normWith(k, i, "self_attn.k_norm.weight");
  }
  return p.linear(p.attend(i, p.rope(q, i), p.rope(k, i), v), i, "self_attn.o_proj");
}

/** The pre-norm block of llama, mistral, qwen2, gemma (and qwen3 with q/k norms). */
export function llamaBlock(p: BlockParts, i: number, h: string, qkNorm = false): BlockOutput {
  const x = p.norm(h, i, "input_layernorm");
  const attention = selfAttention(p, i, x, qkNorm);
  const mid = p.g.node("Add", [h, attention]);
  const mlp = gatedMlp(p, i, p.norm(mid, i, "post_attention_layernorm"));
  return { attention, mid, mlp };
}

export const llama: Family = {
  facts: (c) => ({
    blockTensors: blockTensorLayout(c),
    normOnePlusWeight: false,
    embeddingScale: null,
    attention: layerAttention(c),
  }),
  block: (p, i, h) => llamaBlock(p, i, h),
};
