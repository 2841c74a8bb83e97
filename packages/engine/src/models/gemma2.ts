// Gemma-2 and Gemma-3 (text), as transformers' modeling_gemma2.py / modeling_gemma3.py: four (1 + w) RMSNorms
// per block around attention and MLP,
//
//   h = h + post_attention_layernorm(attn(input_layernorm(h)))
//   h = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))
//
// with the embedding scaled by √H, scores q·kᵀ · query_pre_attn_scalar^-½ (soft-capped for Gemma-2), capped
// final logits, and alternating sliding-window / global layers. Gemma-3 adds (1 + w) q_norm / k_norm before RoPE
// and a local RoPE (rope_local_base_freq) on its sliding layers. Caps, scale and RoPE come from the architecture.
import { blockTensorLayout, type ModelConfig } from "@shortened/hf";
import type { BlockOutput, BlockParts, Family } from "./family.js";
import { layerAttention, selfAttention } from "./llama.js";
import { gatedMlp } from "./mlp.js";

function sandwichBlock(p: BlockParts, i: number, h: string, qkNorm: boolean): BlockOutput {
  const x = p.norm(h, i, "input_layernorm");
  const attention = p.norm(selfAttention(p, i, x, qkNorm), i, "post_attention_layernorm");
  const mid = p.g.node("Add", [h, attention]);
  const mlp = p.norm(
    gatedMlp(p, i, p.norm(mid, i, "pre_feedforward_layernorm")),
    i,
    "post_feedforward_layernorm",
  );
  return { attention, mid, mlp };
}

const gemmaNextFacts = (c: ModelConfig) => ({
  blockTensors: blockTensorLayout(c),
  normOnePlusWeight: true,
  embeddingScale: Math.fround(Math.sqrt(c.hiddenSize)),
  attention: layerAttention(c),
});

export const gemma2: Family = {
  facts: gemmaNextFacts,
  block: (p, i, h) => sandwichBlock(p, i, h, false),
};

export const gemma3Text: Family = {
  facts: gemmaNextFacts,
  block: (p, i, h) => sandwichBlock(p, i, h, true),
};
