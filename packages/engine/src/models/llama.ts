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

/** The config's sliding window (Mistral) on every layer. */
export function uniformAttention(c: ModelConfig): LayerAttention[] {
  return Array.from({ length: c.numHiddenLayers }, () => ({ slidingWindow: c.slidingWindow }));
}

/** The pre-norm block of every family served today. */
export function llamaBlock(p: BlockParts, i: number, h: string): BlockOutput {
  const { g, arch } = p;
  const x = p.norm(h, i, "input_layernorm");
  const q = p.rope(p.heads(p.linear(x, i, "self_attn.q_proj"), arch.numHeads), i);
  const k = p.rope(p.heads(p.linear(x, i, "self_attn.k_proj"), arch.numKvHeads), i);
  const v = p.heads(p.linear(x, i, "self_attn.v_proj"), arch.numKvHeads);
  const attention = p.linear(p.attend(i, q, k, v), i, "self_attn.o_proj");
  const mid = g.node("Add", [h, attention]);
  const mlp = gatedMlp(p, i, p.norm(mid, i, "post_attention_layernorm"));
  return { attention, mid, mlp };
}

export const llama: Family = {
  facts: (c) => ({
    blockTensors: blockTensorLayout(c),
    normOnePlusWeight: false,
    embeddingScale: null,
    attention: uniformAttention(c),
  }),
  block: llamaBlock,
};
