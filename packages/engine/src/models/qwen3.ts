// Qwen3, as transformers' modeling_qwen3.py: the LLaMA block with a per-head RMSNorm on q and k before RoPE,
//
//   q = RoPE(q_norm(x Wqᵀ (+bq)))   k = RoPE(k_norm(x Wkᵀ (+bk)))      (RMSNorm over head_dim, per head)
//
// an explicit head_dim, attention_bias on q, k, v and o, scores scaled by head_dim^-½, and Qwen2's per-layer
// sliding window (layer_types, or use_sliding_window with max_window_layers).
import { blockTensorLayout } from "@shortened/hf";
import type { Family } from "./family.js";
import { layerAttention, llamaBlock } from "./llama.js";

export const qwen3: Family = {
  facts: (c) => ({
    blockTensors: blockTensorLayout(c),
    normOnePlusWeight: false,
    embeddingScale: null,
    attention: layerAttention(c),
  }),
  block: (p, i, h) => llamaBlock(p, i, h, true),
};
