// Qwen2 / Qwen2.5, as transformers' modeling_qwen2.py: the LLaMA block with biases on q, k and v (none on o
// or the MLP).
import type { Family } from "./family.js";
import { llamaBlock, llamaBlockTensors, uniformAttention } from "./llama.js";

export const qwen2: Family = {
  facts: (c) => ({
    blockTensors: llamaBlockTensors(c, { qkv: c.qkvBias, o: false, mlp: false }),
    normOnePlusWeight: false,
    embeddingScale: null,
    attention: uniformAttention(c),
  }),
  block: llamaBlock,
};
