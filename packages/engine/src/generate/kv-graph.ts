// The incremental (KV-cache) forward graph used for generation. It reads T new tokens after P cached
// positions: inputs `input_ids` [B, T] and per block `past_key_i` / `past_value_i` [B, kvHeads, P, d];
// outputs `logits` [B, V] of the last new position and `present_key_i` / `present_value_i` [B, kvHeads, P+T, d].
// The prefill is this graph with P = 0 (empty past, T = prompt length); a decode step is T = 1. One graph
// and one session serve both, so the weights are held once.
//
// With `padded`, rows may hold different amounts of real tokens: inputs `position_ids` [B, T] give each new
// token's position, and `key_valid` [B, P+T] (bool) marks the cache slots and new tokens that are real (left
// padding is false); masked scores get −1e9, not −∞, so an all-padding query row stays finite. With
// `output: "nll"`, input `targets` [B, T] and output `nll` [B, T] (−log p(target) at every new position)
// replace the last-position logits (zero-shot scoring that reuses a shared context's cache).
//
// The block is the forward graph's (../models/llama.ts, built from the same ../models/layers.ts pieces);
// only attention differs: RoPE at positions P..P+T-1, keys/values appended to the cache, and the causal
// mask offset by P (query i sees key j iff j ≤ P + i, and P + i − j < W under a sliding window).
import type { ModelConfig } from "@shortened/hf";
import { GraphBuilder } from "../graph/builder.js";
import {
  groupedQueryAttention,
  linear,
  mergeHeads,
  rmsNorm,
  rotaryTables,
  tokenNll,
} from "../models/layers.js";
import { blockMlp, blockQkv, layerName, type PrefixLinear } from "../models/llama.js";

export interface KvGraphOptions {
  padded?: boolean;
  output?: "last-logits" | "nll";
}

export interface KvGraph {
  graph: GraphBuilder;
  inputIds: string;
  /** with `padded` */
  positionIds?: string;
  keyValid?: string;
  /** with output "nll" */
  targets?: string;
  nll?: string;
  pastKeys: string[];
  pastValues: string[];
  logits?: string;
  presentKeys: string[];
  presentValues: string[];
}

export function buildKvGraph(
  c: ModelConfig,
  weight: (name: string) => string,
  maxSeqLen: number,
  g = new GraphBuilder(),
  opts: KvGraphOptions = {},
): KvGraph {
  const L = c.numHiddenLayers;
  const gemma = c.modelType === "gemma";
  const oBias = c.attentionBias && c.modelType !== "qwen2";
  const lin: PrefixLinear = (x, prefix, hasBias) =>
    linear(g, x, weight(`${prefix}.weight`), hasBias ? weight(`${prefix}.bias`) : undefined);
  const norm = (x: string, name: string) => rmsNorm(g, x, weight(name), c.rmsNormEps, gemma);
  const kvShape = ["batch", c.numKeyValueHeads, "past", c.headDim];

  const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
  const pastKeys: string[] = [];
  const pastValues: string[] = [];
  for (let i = 0; i < L; i++) {
    pastKeys.push(g.input(`past_key_${i}`, "float32", kvShape));
    pastValues.push(g.input(`past_value_${i}`, "float32", kvShape));
  }
  let h = g.node("Gather", [weight("model.embed_tokens.weight"), inputIds], { axis: 0 });
  if (gemma) h = g.node("Mul", [h, g.scalar(Math.fround(Math.sqrt(c.hiddenSize)))]);

  // Positions P..P+T-1 (P from the cache, T from the ids), their rotary rows, and the offset causal mask.
  const past1d = g.node("Shape", [pastKeys[0]!], { start: 2, end: 3 });
  const seq1d = g.node("Shape", [inputIds], { start: 1, end: 2 });
  const total1d = g.node("Add", [past1d, seq1d]);
  const scalar = (v: string) => g.node("Squeeze", [v, g.int64s([0])]);
  const one = g.constant("int64", [], [1n]);
  const tables = rotaryTables(c.headDim, c.ropeTheta, maxSeqLen);
  let positionIds: string | undefined;
  let keyValid: string | undefined;
  if (opts.padded) {
    positionIds = g.input("position_ids", "int64", ["batch", "seq"]);
    keyValid = g.input("key_valid", "bool", ["batch", "total"]);
  }
  const rows = (name: string, data: Float32Array) => {
    const all = g.initializer(name, { type: "float32", dims: [maxSeqLen, c.headDim], data });
    if (positionIds)
      return g.node("Unsqueeze", [g.node("Gather", [all, positionIds], { axis: 0 }), g.int64s([1])]); // [B, 1, T, d]
    return g.node("Slice", [all, past1d, total1d, g.int64s([0])]); // [T, d]
  };
  const cos = rows("rope_cos", tables.cos);
  const sin = rows("rope_sin", tables.sin);
  // Slots of the cache + new tokens: new token i (slot P+i) sees slot j iff j ≤ P+i (and within the window).
  const qPos = g.node("Unsqueeze", [g.node("Range", [scalar(past1d), scalar(total1d), one]), g.int64s([1])]);
  const kPos = g.node("Unsqueeze", [
    g.node("Range", [g.constant("int64", [], [0n]), scalar(total1d), one]),
    g.int64s([0]),
  ]);
  let visible = g.node("LessOrEqual", [kPos, qPos]);
  if (c.slidingWindow !== null) {
    const inWindow = g.node("Less", [
      g.node("Sub", [qPos, kPos]),
      g.constant("int64", [], [BigInt(c.slidingWindow)]),
    ]);
    visible = g.node("And", [visible, inWindow]);
  }
  if (keyValid) {
    const valid = g.node("Unsqueeze", [keyValid, g.int64s([1, 2])]); // [B, 1, 1, P+T]
    visible = g.node("And", [visible, valid]); // [B, 1, T, P+T]
  }
  const masked = keyValid ? -1e9 : Number.NEGATIVE_INFINITY;
  // Grouped-query attention stacks the rep query heads of a kv head along the query axis: repeat the mask rows.
  const rep = c.numAttentionHeads / c.numKeyValueHeads;
  const flatMask = g.node("Where", [visible, g.scalar(0), g.scalar(masked)]); // [T, P+T] or [B, 1, T, P+T]
  const mask =
    rep === 1 ? flatMask : g.node("Tile", [flatMask, g.int64s(keyValid ? [1, 1, rep, 1] : [rep, 1])]);
  const heads = { heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim };

  const presentKeys: string[] = [];
  const presentValues: string[] = [];
  for (let i = 0; i < L; i++) {
    const x = norm(h, layerName(i, "input_layernorm.weight"));
    const { q, k: kNew, v: vNew } = blockQkv(g, c, lin, i, x, cos, sin);
    const k = g.node("Concat", [pastKeys[i]!, kNew], { axis: 2 });
    const v = g.node("Concat", [pastValues[i]!, vNew], { axis: 2 });
    presentKeys.push(
      g.output(g.rename(k, `present_key_${i}`), "float32", ["batch", c.numKeyValueHeads, "total", c.headDim]),
    );
    presentValues.push(
      g.output(g.rename(v, `present_value_${i}`), "float32", [
        "batch",
        c.numKeyValueHeads,
        "total",
        c.headDim,
      ]),
    );
    const o = mergeHeads(
      g,
      groupedQueryAttention(g, q, presentKeys[i]!, presentValues[i]!, mask, heads),
      c.numAttentionHeads,
      c.headDim,
    );
    h = g.node("Add", [h, lin(o, layerName(i, "self_attn.o_proj"), oBias)]);
    const x2 = norm(h, layerName(i, "post_attention_layernorm.weight"));
    h = g.node("Add", [h, blockMlp(g, c, lin, i, x2)]);
  }
  const head = c.tieWordEmbeddings ? weight("model.embed_tokens.weight") : weight("lm_head.weight");
  const logitsOf = (x: string) =>
    g.node("MatMul", [norm(x, "model.norm.weight"), g.node("Transpose", [head], { perm: [1, 0] })]);
  const out: Partial<KvGraph> = {};
  if (opts.output === "nll") {
    out.targets = g.input("targets", "int64", ["batch", "seq"]);
    out.nll = g.output(g.rename(tokenNll(g, logitsOf(h), out.targets), "nll"), "float32", ["batch", "seq"]);
  } else {
    // Only the last new position feeds the head.
    const last = g.node("Squeeze", [
      g.node("Slice", [h, g.int64s([-1]), g.int64s([2 ** 62]), g.int64s([1])]),
      g.int64s([1]),
    ]);
    out.logits = g.output(g.rename(logitsOf(last), "logits"), "float32", ["batch", c.vocabSize]);
  }
  return {
    graph: g,
    inputIds,
    pastKeys,
    pastValues,
    positionIds,
    keyValid,
    ...out,
    presentKeys,
    presentValues,
  };
}
