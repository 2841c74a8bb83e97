// Configs of the large generated checkpoints the README measures (/work/big, ../shared/tools), for tests of
// memory estimates that need real shapes without the weights.
import { parseConfig } from "@shortened/hf";

/** TinyLlama-1.1B's shapes: 22 × 2048, intermediate 5632, 32/4 heads, vocab 32000, untied head. */
export const TINYLLAMA = parseConfig({
  model_type: "llama",
  hidden_size: 2048,
  intermediate_size: 5632,
  num_hidden_layers: 22,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  vocab_size: 32000,
  max_position_embeddings: 2048,
});

/** LLaMA-2-7B's shapes: 32 × 4096, intermediate 11008, 32 heads (no GQA), vocab 32000, untied head. */
export const LLAMA2_7B = parseConfig({
  model_type: "llama",
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  vocab_size: 32000,
  max_position_embeddings: 4096,
});

/** 2 blocks of the 1.1B width (TinyLlama's other shapes): the streamed Taylor+ measurements' small model. */
export const TINYLLAMA_2_BLOCKS = parseConfig({
  model_type: "llama",
  hidden_size: 2048,
  intermediate_size: 5632,
  num_hidden_layers: 2,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  vocab_size: 32000,
  max_position_embeddings: 2048,
});
