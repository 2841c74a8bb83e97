// Phi-3, as transformers' modeling_phi3.py: the LLaMA block with fused projections and no biases,
//
//   [q | k | v] = x W_qkvᵀ          (rows: q nh·d, then k nkv·d, then v nkv·d)
//   [g | u]     = x W_gate_upᵀ      (rows: gate I, then up I);   m = down(u · act(g))
//
// RoPE on the first partial_rotary_factor·d channels of each head (longrope scaling usual), scores scaled by
// head_dim^-½, and an optional sliding window on every layer.
import { blockTensorLayout } from "@shortened/hf";
import type { BlockOutput, BlockParts, Family } from "./family.js";
import { layerAttention } from "./llama.js";

/** Channels [from, to) of the last axis. */
const lastAxis = (p: BlockParts, x: string, from: number, to: number) =>
  p.g.node("Slice", [x, p.g.int64s([from]), p.g.int64s([to]), p.g.int64s([-1])]);

function phi3Block(p: BlockParts, i: number, h: string): BlockOutput {
  const { g, arch } = p;
  const nq = arch.numHeads * arch.headDim;
  const nkv = arch.numKvHeads * arch.headDim;
  const x = p.norm(h, i, "input_layernorm");
  const qkv = p.linear(x, i, "self_attn.qkv_proj");
  const q = p.rope(p.heads(lastAxis(p, qkv, 0, nq), arch.numHeads), i);
  const k = p.rope(p.heads(lastAxis(p, qkv, nq, nq + nkv), arch.numKvHeads), i);
  const v = p.heads(lastAxis(p, qkv, nq + nkv, nq + 2 * nkv), arch.numKvHeads);
  const attention = p.linear(p.attend(i, q, k, v), i, "self_attn.o_proj");
  const mid = g.node("Add", [h, attention]);
  const gateUp = p.linear(p.norm(mid, i, "post_attention_layernorm"), i, "mlp.gate_up_proj");
  const I = arch.intermediateSize;
  const gated = g.node("Mul", [lastAxis(p, gateUp, I, 2 * I), p.act(lastAxis(p, gateUp, 0, I))]);
  const mlp = p.linear(gated, i, "mlp.down_proj");
  return { attention, mid, mlp };
}

export const phi3: Family = {
  facts: (c) => ({
    blockTensors: blockTensorLayout(c),
    normOnePlusWeight: false,
    embeddingScale: null,
    attention: layerAttention(c),
  }),
  block: phi3Block,
};
