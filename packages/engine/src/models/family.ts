// The hook a model family plugs into: the facts it reads from its config (./architecture.ts gathers them) and
// the equations of one block, written with the parts the forward graph hands it (norms, linear layers, RoPE,
// attention over the cache). A new family is a file exporting a `Family` plus an entry in ./families.ts.
import type { BlockTensor, ModelConfig } from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";
import type { Architecture } from "./architecture.js";

/** A tensor of every block (its suffix, shape and role), as @shortened/hf's tensor layout lists it. */
export type { BlockTensor };

/** One layer's attention: how far back a query sees (null: the whole causal past), and which rotary embedding
 *  it uses (gemma3_text's sliding layers: the local one). */
export interface LayerAttention {
  slidingWindow: number | null;
  rope: "global" | "local";
}

/** What a family reads from its config beyond the dimensions every family shares. */
export interface FamilyFacts {
  /** one block's tensors in Hugging Face named_parameters order */
  blockTensors: BlockTensor[];
  /** RMSNorm scales by (1 + w) instead of w */
  normOnePlusWeight: boolean;
  /** the embedding output is multiplied by this (rounded to float32), or not at all */
  embeddingScale: number | null;
  /** one entry per layer */
  attention: LayerAttention[];
}

/** What a block's equations are given, bound to one graph and one architecture. Names are relative to the
 *  block: `linear(x, i, "self_attn.q_proj")` is model.layers.i.self_attn.q_proj (with its bias when the
 *  architecture has one, and the LoRA hook applied). */
export interface BlockParts {
  g: GraphBuilder;
  arch: Architecture;
  /** RMSNorm with block i's norm weight `name` ("input_layernorm"), in the architecture's style */
  norm(x: string, i: number, name: string): string;
  linear(x: string, i: number, module: string): string;
  /** [B, T, n·d] → [B, n, T, d] */
  heads(x: string, n: number): string;
  /** RoPE at this sequence's positions, for layer i */
  rope(x: string, i: number): string;
  /** softmax(cap(q kᵀ · scale) + mask_i) v over the cached and new keys of layer i, heads merged: [B, T, heads·d]
   *  (scale and soft-cap from the architecture) */
  attend(i: number, q: string, k: string, v: string): string;
  /** the MLP activation */
  act(x: string): string;
  /** RMSNorm over the last axis with a block tensor `suffix` (e.g. "self_attn.q_norm.weight", per head) */
  normWith(x: string, i: number, suffix: string): string;
  /** block i's tensor as a graph value (e.g. for a fused projection's weight) */
  tensor(i: number, suffix: string): string;
}

/** A block's two residual updates: `mid` = h + attention feeds the MLP's norm; the forward graph combines them
 *  as h + g·(attention + mlp) (gated) or mid + mlp (Hugging Face's order). */
export interface BlockOutput {
  attention: string;
  mid: string;
  mlp: string;
}

export interface Family {
  facts(c: ModelConfig): FamilyFacts;
  block(p: BlockParts, i: number, h: string): BlockOutput;
}
