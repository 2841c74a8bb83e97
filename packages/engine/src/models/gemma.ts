// Gemma (1), as transformers' modeling_gemma.py: the LLaMA block with RMSNorm scaling by (1 + w), the embedding
// output multiplied by √hidden (rounded to the compute dtype, as HF does), a GELU-tanh MLP (the config's
// hidden_activation) and a tied head by default.

import { blockTensorLayout } from "@shortened/hf";
import type { Family } from "./family.js";
import { layerAttention, llamaBlock } from "./llama.js";

export const gemma: Family = {
  facts: (c) => ({
    blockTensors: blockTensorLayout(c),
    normOnePlusWeight: true,
    embeddingScale: Math.fround(Math.sqrt(c.hiddenSize)),
    attention: layerAttention(c),
  }),
  block: (p, i, h) => llamaBlock(p, i, h),
};
