// LLaMA (LLaMA-1/2/3, Vicuna) and Mistral, as transformers' modeling_llama.py. Block i:
//
//   x = RMSNorm(h);  q, k, v = x Wqᵀ (+bq), x Wkᵀ (+bk), x Wvᵀ (+bv);  q, k = RoPE(q), RoPE(k)
//   a = softmax(q kᵀ / √d + mask) v Woᵀ (+bo)
//   m = down(act(gate(RMSNorm(h + a))) · up(RMSNorm(h + a)))
//
// Biases follow attention_bias (q, k, v, o) and mlp_bias; Mistral masks keys further back than its sliding
// window (the mask is the forward graph's, from the layer's attention facts).
import type { ModelConfig } from "@shortened/hf";
import type { BlockOutput, BlockParts, BlockTensor, Family, LayerAttention } from "./family.js";
import { gatedMlp } from "./mlp.js";

/** Which linear layers of the LLaMA block carry a bias. */
export interface LlamaBiases {
  qkv: boolean;
  o: boolean;
  mlp: boolean;
}

/** The LLaMA block's tensors in named_parameters order: q, k, v, o, gate, up, down (weight, then bias), then
 *  input_layernorm and post_attention_layernorm. */
export function llamaBlockTensors(c: ModelConfig, bias: LlamaBiases): BlockTensor[] {
  const H = c.hiddenSize;
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  const I = c.intermediateSize;
  const linears: [string, number, number, boolean][] = [
    ["self_attn.q_proj", q, H, bias.qkv],
    ["self_attn.k_proj", kv, H, bias.qkv],
    ["self_attn.v_proj", kv, H, bias.qkv],
    ["self_attn.o_proj", H, q, bias.o],
    ["mlp.gate_proj", I, H, bias.mlp],
    ["mlp.up_proj", I, H, bias.mlp],
    ["mlp.down_proj", H, I, bias.mlp],
  ];
  const tensors: BlockTensor[] = linears.flatMap(([m, out, inF, b]) => [
    { suffix: `${m}.weight`, shape: [out, inF], role: "weight" as const },
    ...(b ? [{ suffix: `${m}.bias`, shape: [out], role: "bias" as const }] : []),
  ]);
  for (const norm of ["input_layernorm", "post_attention_layernorm"])
    tensors.push({ suffix: `${norm}.weight`, shape: [H], role: "norm" });
  return tensors;
}

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
    blockTensors: llamaBlockTensors(c, { qkv: c.attentionBias, o: c.attentionBias, mlp: c.mlpBias }),
    normOnePlusWeight: false,
    embeddingScale: null,
    attention: uniformAttention(c),
  }),
  block: llamaBlock,
};
