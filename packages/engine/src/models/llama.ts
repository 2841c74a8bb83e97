// The forward graph of the LLaMA family (LLaMA / Vicuna, Mistral, Qwen2, Gemma) from a ModelConfig, with
// Hugging Face's semantics. Per block i, with gate g_i (an input, so removing a block is a feed, not a graph):
//
//   x = RMSNorm(h);  q, k, v = x Wqᵀ (+bq), x Wkᵀ (+bk), x Wvᵀ (+bv);  q, k = RoPE(q), RoPE(k)
//   a = softmax(q kᵀ / sqrt(d) + mask) v Woᵀ (+bo)
//   m = down(act(gate(RMSNorm(h + a))) · up(RMSNorm(h + a)))
//   h ← h + g_i · (a + m)                                   (g_i = 1: the HF block; g_i = 0: removed)
//
// then NLL_t = −log softmax(RMSNorm(h) Eᵀ)[target_t] (E = lm_head, or the embedding when tied).
// Architecture differences: Gemma scales the embedding by sqrt(hidden), uses (1 + w) in RMSNorm and a
// GELU-tanh MLP; Qwen2 has q/k/v biases; LLaMA honours attention_bias / mlp_bias; Mistral masks keys
// further back than its sliding window.
import type { ModelConfig } from "@shortened/hf";
import { GraphBuilder } from "../graph/builder.js";
import {
  activation,
  applyRotary,
  causalMask,
  groupedQueryAttention,
  groupMask,
  linear,
  mergeHeads,
  rmsNorm,
  rotaryTables,
  splitHeads,
  tokenNll,
} from "./layers.js";

/**
 * How the graph obtains its weights. These hooks are the extension points for retraining:
 * - `weight(name)` returns the graph value holding the float32 tensor of that Hugging Face name
 *   (e.g. "model.layers.3.self_attn.q_proj.weight"). The default (modelWeights in ./weights.ts) makes an
 *   initializer from the checkpoint; full-parameter training can return a graph input instead.
 * - `linear(x, prefix, base)` computes the linear layer `prefix` (e.g. "model.layers.3.mlp.up_proj") of x.
 *   `base(x)` is the plain `x Wᵀ + b`; LoRA returns `base(x) + s · B(A x)` for the modules it targets.
 */
export interface WeightHooks {
  weight: (name: string) => string;
  linear?: (x: string, prefix: string, base: (x: string) => string) => string;
}

export interface ForwardGraphOptions extends WeightHooks {
  /** Append to this builder (e.g. a training graph); default a new one. */
  graph?: GraphBuilder;
  /** "ids": input `input_ids` [B, T] (default). "hidden": input `hidden_in` [B, T, H] enters block 0 in place of
   *  the embedding output; with gates 0 for blocks 0..i it resumes the model after block i. */
  input?: "ids" | "hidden";
  /** Output `nll` [B, T] from input `targets` [B, T] (default true). */
  nll?: boolean;
  /** Output `logits` [B, T, V]. */
  logits?: boolean;
  /** Outputs `hidden_0` … `hidden_L`: h_0 (embedding output) and each block's output, before the final norm. */
  hidden?: boolean;
  /** Wrap each block in an `If` so that a block whose gate is exactly 0 is not computed at all (inference only:
   *  control flow is not differentiable). */
  skipGatedBlocks?: boolean;
  /** Longest sequence the graph serves (size of the rotary tables); default max_position_embeddings. */
  maxSeqLen?: number;
}

export interface ForwardGraph {
  graph: GraphBuilder;
  /** graph value names */
  inputs: { ids?: string; hiddenIn?: string; targets?: string; gates: string };
  outputs: { nll?: string; logits?: string; hidden?: string[] };
}

export const layerName = (i: number, suffix: string): string => `model.layers.${i}.${suffix}`;

/** A linear layer of the model by its prefix ("model.layers.3.mlp.up_proj"), with or without its bias. */
export type PrefixLinear = (x: string, prefix: string, hasBias: boolean) => string;

/** Block i's queries and keys (RoPE applied with the given cos/sin rows) and values, split into heads:
 *  [B, heads, T, d]. Shared by the forward graph and the KV-cache graph (../generate/kv-graph.ts). */
export function blockQkv(
  g: GraphBuilder,
  c: ModelConfig,
  lin: PrefixLinear,
  i: number,
  x: string,
  cos: string,
  sin: string,
): { q: string; k: string; v: string } {
  const qkvBias = c.qkvBias || c.attentionBias;
  const attn = (p: string) => layerName(i, `self_attn.${p}`);
  const q = applyRotary(
    g,
    splitHeads(g, lin(x, attn("q_proj"), qkvBias), c.numAttentionHeads, c.headDim),
    cos,
    sin,
    c.headDim,
  );
  const k = applyRotary(
    g,
    splitHeads(g, lin(x, attn("k_proj"), qkvBias), c.numKeyValueHeads, c.headDim),
    cos,
    sin,
    c.headDim,
  );
  const v = splitHeads(g, lin(x, attn("v_proj"), qkvBias), c.numKeyValueHeads, c.headDim);
  return { q, k, v };
}

/** Block i's MLP on its normed input x: down(act(gate(x)) · up(x)). */
export function blockMlp(g: GraphBuilder, c: ModelConfig, lin: PrefixLinear, i: number, x: string): string {
  const mlp = (p: string) => layerName(i, `mlp.${p}`);
  const gated = g.node("Mul", [
    activation(g, lin(x, mlp("gate_proj"), c.mlpBias), c.hiddenAct),
    lin(x, mlp("up_proj"), c.mlpBias),
  ]);
  return lin(gated, mlp("down_proj"), c.mlpBias);
}

export function buildForwardGraph(config: ModelConfig, opts: ForwardGraphOptions): ForwardGraph {
  const g = opts.graph ?? new GraphBuilder();
  const c = config;
  const L = c.numHiddenLayers;
  const gemma = c.modelType === "gemma";
  const oBias = c.attentionBias && c.modelType !== "qwen2";
  const w = (name: string) => opts.weight(name);
  const lin: PrefixLinear = (x, prefix, hasBias) => {
    const base = (input: string) =>
      linear(g, input, w(`${prefix}.weight`), hasBias ? w(`${prefix}.bias`) : undefined);
    return opts.linear ? opts.linear(x, prefix, base) : base(x);
  };
  const norm = (x: string, name: string) => rmsNorm(g, x, w(name), c.rmsNormEps, gemma);

  // ---- inputs and the per-sequence constants shared by every block (positions, mask) ----
  const inputs: ForwardGraph["inputs"] = { gates: g.input("gates", "float32", [L]) };
  let h0: string;
  if (opts.input === "hidden") {
    inputs.hiddenIn = g.input("hidden_in", "float32", ["batch", "seq", c.hiddenSize]);
    h0 = inputs.hiddenIn;
  } else {
    inputs.ids = g.input("input_ids", "int64", ["batch", "seq"]);
    h0 = g.node("Gather", [w("model.embed_tokens.weight"), inputs.ids], { axis: 0 });
    // Gemma: h0 = E[ids] · sqrt(hidden), the constant rounded to the compute dtype as HF does.
    if (gemma) h0 = g.node("Mul", [h0, g.scalar(Math.fround(Math.sqrt(c.hiddenSize)))]);
  }
  const seqLen1d = g.node("Shape", [h0], { start: 1, end: 2 });
  const seqLen = g.node("Squeeze", [seqLen1d, g.int64s([0])]);
  const tables = rotaryTables(c.headDim, c.ropeTheta, opts.maxSeqLen ?? c.maxPositionEmbeddings);
  const table = (name: string, data: Float32Array) => {
    const all = g.initializer(name, { type: "float32", dims: [data.length / c.headDim, c.headDim], data });
    return g.node("Slice", [all, g.int64s([0]), seqLen1d, g.int64s([0])]); // [T, d]
  };
  const cos = table("rope_cos", tables.cos);
  const sin = table("rope_sin", tables.sin);
  const rep = c.numAttentionHeads / c.numKeyValueHeads;
  const mask = groupMask(g, causalMask(g, seqLen, c.slidingWindow), rep);

  // ---- one block's residual update a + m ----
  const heads = { heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim };
  const blockDelta = (i: number, h: string): string => {
    const x = norm(h, layerName(i, "input_layernorm.weight"));
    const { q, k, v } = blockQkv(g, c, lin, i, x, cos, sin);
    const o = mergeHeads(g, groupedQueryAttention(g, q, k, v, mask, heads), c.numAttentionHeads, c.headDim);
    const a = lin(o, layerName(i, "self_attn.o_proj"), oBias);

    const x2 = norm(g.node("Add", [h, a]), layerName(i, "post_attention_layernorm.weight"));
    const m = blockMlp(g, c, lin, i, x2);
    return g.node("Add", [a, m]);
  };

  // ---- the stack of gated blocks ----
  const hidden = [h0];
  let h = h0;
  for (let i = 0; i < L; i++) {
    const gate = g.node("Gather", [inputs.gates, g.constant("int64", [], [BigInt(i)])], { axis: 0 });
    const gatedBlock = (hIn: string) => g.node("Add", [hIn, g.node("Mul", [gate, blockDelta(i, hIn)])]);
    if (opts.skipGatedBlocks) {
      const run = g.node("Not", [g.node("Equal", [gate, g.scalar(0)])]);
      const hIn = h;
      const thenBranch = g.subgraph(() => [gatedBlock(hIn)]);
      const elseBranch = g.subgraph(() => [g.node("Identity", [hIn])]);
      h = g.node("If", [run], { then_branch: { graph: thenBranch }, else_branch: { graph: elseBranch } });
    } else {
      h = gatedBlock(h);
    }
    hidden.push(h);
  }

  // ---- head ----
  const outputs: ForwardGraph["outputs"] = {};
  const needHead = opts.nll !== false || opts.logits;
  if (needHead) {
    const hn = norm(h, "model.norm.weight");
    const head = c.tieWordEmbeddings ? w("model.embed_tokens.weight") : w("lm_head.weight");
    const logits = g.node("MatMul", [hn, g.node("Transpose", [head], { perm: [1, 0] })]);
    if (opts.logits) {
      outputs.logits = g.output(g.rename(logits, "logits"), "float32", ["batch", "seq", c.vocabSize]);
    }
    if (opts.nll !== false) {
      inputs.targets = g.input("targets", "int64", ["batch", "seq"]);
      const nll = tokenNll(g, outputs.logits ?? logits, inputs.targets);
      outputs.nll = g.output(g.rename(nll, "nll"), "float32", ["batch", "seq"]);
    }
  }
  if (opts.hidden) {
    outputs.hidden = hidden.map((v, i) => {
      // h_0 may be a graph input (hidden_in); an output needs a value of its own.
      const src = v === inputs.hiddenIn ? g.node("Identity", [v]) : v;
      return g.output(g.rename(src, `hidden_${i}`), "float32", ["batch", "seq", c.hiddenSize]);
    });
  }
  return { graph: g, inputs, outputs };
}
