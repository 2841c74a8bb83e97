// Qwen2 / Qwen2.5, as transformers' modeling_qwen2.py: the LLaMA block with biases on q, k and v (none on o
// or the MLP).

import { blockTensorLayout } from "@shortened/hf";
import type { Family } from "./family.js";
import { layerAttention, llamaBlock } from "./llama.js";

export const qwen2: Family = {
  facts: (c) => ({
    blockTensors: blockTensorLayout(c),
    normOnePlusWeight: false,
    embeddingScale: null,
    attention: layerAttention(c),
  }),
  block: (p, i, h) => llamaBlock(p, i, h),
};
