// The forward graph of every supported family, from a ModelConfig, with Hugging Face's semantics:
//
//   h_0 = E[ids] (· scale);   h_{i+1} = h_i + g_i · (a_i + m_i)   (a_i, m_i: block i's attention and MLP updates,
//                                                                   in the family's file, e.g. ./llama.ts)
//   NLL_t = −log softmax(RMSNorm(h_L) Eᵀ)[target_t]               (E = lm_head, or the embedding when tied)
//
// The gate g_i is an input (1 keeps block i, 0 removes it), so one session scores every "remove block i"
// candidate. One builder serves every use: the whole model or a range of blocks [from, to) (hidden states in
// and/or out, so a model can run block by block), each block's weights as initializers or as graph inputs (so
// one block graph serves every block), and an optional KV cache (past keys/values in, present out, the new
// tokens' positions offset by the cache) for generation and shared-context scoring.
import type { ModelConfig } from "@shortened/hf";
import { GraphBuilder } from "../graph/builder.js";
import { type Architecture, architectureOf, blockTensor, layerName } from "./architecture.js";
import { groupedQueryAttention, mergeHeads, splitHeads } from "./attention.js";
import { embedTokens } from "./embedding.js";
import type { BlockParts } from "./family.js";
import { lmHead, tokenNll } from "./head.js";
import { chunkedTokenNll, defaultHeadChunkRows } from "./head-chunks.js";
import { linear } from "./linear.js";
import { activation } from "./mlp.js";
import { rmsNorm } from "./norms.js";
import { type ComputeDtype, weightElemType } from "./precision.js";
import { type Sequence, sequenceOf } from "./sequence.js";

/**
 * How the graph obtains its weights. These hooks are the extension points for retraining:
 * - `weight(name)` returns the graph value holding the float32 tensor of that Hugging Face name
 *   (e.g. "model.layers.3.self_attn.q_proj.weight"). The default (checkpointWeights in ./weights.ts) makes an
 *   initializer from the checkpoint; full-parameter training returns a graph input instead.
 * - `linear(x, prefix, base)` computes the linear layer `prefix` (e.g. "model.layers.3.mlp.up_proj") of x.
 *   `base(x)` is the plain `x Wᵀ + b`; LoRA returns `base(x) + s · B(A x)` for the modules it targets.
 */
export interface WeightHooks {
  weight: (name: string) => string;
  /** `x Wᵀ` of the linear `prefix` computed another way (a GPTQ linear through MatMulNBits, ../quantize), or
   *  null for the float MatMul with `weight(prefix.weight)`; the bias is added after it either way. */
  matmul?: (x: string, prefix: string) => string | null;
  /** The compute dtype (./precision.ts): the dtype of the matrices `weight` returns (checkpointWeights(g, ckpt,
   *  dtype)) and of every MatMul; default float32. */
  dtype?: ComputeDtype;
  linear?: (x: string, prefix: string, base: (x: string) => string) => string;
  /** Rows [from, to) of a frozen tensor as a graph value of their own (checkpointWeightRows in ./weights.ts). Given,
   *  a graph whose head computes the NLL alone reads an untied head in vocabulary chunks of `headChunkRows` rows
   *  (default: 32 MiB in float32 each; ./head-chunks.ts), so no whole-head temporary exists. */
  weightRows?: (name: string, from: number, to: number) => string;
  headChunkRows?: number;
}

export interface ForwardGraphOptions extends WeightHooks {
  /** Append to this builder (e.g. a training graph); default a new one. */
  graph?: GraphBuilder;
  /** The blocks [from, to) the graph computes (default all). Block-relative inputs and outputs (gates, caches,
   *  weight inputs, hidden_k) are numbered k = i − from. */
  blocks?: { from: number; to: number };
  /** "ids": input `input_ids` [B, T] through the embedding (default; only from block 0). "hidden": input
   *  `hidden_in` [B, T, H] enters block `from` (with gates 0 for blocks 0..i it resumes the model after block i). */
  input?: "ids" | "hidden";
  /** "hooks" (default): every weight through `weight`. "inputs": each block tensor is a graph input
   *  `blocks.k.<suffix>` (e.g. "blocks.0.self_attn.q_proj.weight"), so a one-block graph serves every block,
   *  fed that block's weights; embedding, final norm and head still come through `weight`. */
  blockWeights?: "hooks" | "inputs";
  /** Input `gates` [to − from] (default true). false: no gates, and each block adds its updates in Hugging
   *  Face's order, (h + a) + m. */
  gates?: boolean;
  /** Wrap each block in an `If` so that a block whose gate is exactly 0 is not computed at all (inference only:
   *  control flow is not differentiable; not with a KV cache). */
  skipGatedBlocks?: boolean;
  /** A KV cache: inputs `past_key_k` / `past_value_k` [B, kvHeads, P, d], outputs `present_key_k` /
   *  `present_value_k` [B, kvHeads, P+T, d], the T new tokens at positions P..P+T−1. With `padded`, rows may
   *  hold different amounts of real tokens: inputs `position_ids` [B, T] and `key_valid` [B, P+T] (bool, false
   *  for left padding) give each token's position and the slots it may attend to. */
  kvCache?: boolean | { padded: boolean };
  /** Output `nll` [B, T] from input `targets` [B, T] (default: when the graph ends with the last block). */
  nll?: boolean;
  /** Output `logits` [B, T, V]; "last": [B, V] of the last position only. */
  logits?: boolean | "last";
  /** The head reads only the positions it scores: input `scored_positions` [N] (flat indices b·T + t into the
   *  [B, T] input), `targets` and `nll` are [1, N]. Scoring a few continuation tokens of a long batch then
   *  makes N × vocab logits, not B·T × vocab (nll only). */
  scoredPositions?: boolean;
  /** Outputs `hidden_0` … `hidden_n` (n = to − from): the state entering block `from` and each block's output,
   *  before the final norm. */
  hidden?: boolean;
  /** Output `hidden_out` [B, T, H]: the state after block to − 1 (the input of the next block or the head). */
  hiddenOut?: boolean;
  /** Longest sequence (cache included) the graph serves: size of the rotary tables; default
   *  max_position_embeddings. */
  maxSeqLen?: number;
}

/** A block tensor fed as a graph input: the tensor `model.layers.(from + block).<suffix>` goes to `name`. */
export interface BlockWeightInput {
  name: string;
  block: number;
  suffix: string;
  dims: number[];
  /** float32, or the half compute dtype for a matrix */
  type: "float32" | "float16" | "bfloat16";
}

export interface ForwardGraph {
  graph: GraphBuilder;
  arch: Architecture;
  dtype: ComputeDtype;
  blocks: { from: number; to: number };
  /** graph value names */
  inputs: {
    ids?: string;
    hiddenIn?: string;
    targets?: string;
    scoredPositions?: string;
    gates?: string;
    positionIds?: string;
    keyValid?: string;
    pastKeys?: string[];
    pastValues?: string[];
    blockWeights?: BlockWeightInput[];
  };
  outputs: {
    nll?: string;
    logits?: string;
    hidden?: string[];
    hiddenOut?: string;
    presentKeys?: string[];
    presentValues?: string[];
  };
}

export function buildForwardGraph(config: ModelConfig, opts: ForwardGraphOptions): ForwardGraph {
  const g = opts.graph ?? new GraphBuilder();
  const arch = architectureOf(config);
  const L = arch.numLayers;
  const blocks = opts.blocks ?? { from: 0, to: L };
  const { from, to } = blocks;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= L))
    throw new Error(`block range [${from}, ${to}) is not within the model's ${L} blocks`);
  const input = opts.input ?? "ids";
  if (input === "ids" && from > 0) throw new Error("a graph that starts after block 0 reads hidden states");
  const atHead = to === L;
  const wantNll = opts.nll ?? atHead;
  if (!atHead && (wantNll || opts.logits))
    throw new Error("only a graph that ends with the last block has a head");
  const gated = opts.gates ?? true;
  const cache = opts.kvCache ? { padded: opts.kvCache !== true && opts.kvCache.padded } : null;
  if (cache && opts.skipGatedBlocks) throw new Error("skipGatedBlocks does not combine with a KV cache");
  const layers = Array.from({ length: to - from }, (_, k) => from + k);

  // ---- inputs ----
  const inputs: ForwardGraph["inputs"] = {};
  const outputs: ForwardGraph["outputs"] = {};
  if (gated && layers.length > 0) inputs.gates = g.input("gates", "float32", [layers.length]);
  let h0: string;
  if (input === "hidden") {
    inputs.hiddenIn = g.input("hidden_in", "float32", ["batch", "seq", arch.hiddenSize]);
    h0 = inputs.hiddenIn;
  } else {
    inputs.ids = g.input("input_ids", "int64", ["batch", "seq"]);
    h0 = embedTokens(g, arch, opts.weight, inputs.ids, opts.dtype);
  }
  if (opts.blockWeights === "inputs" && layers.length > 0) inputs.blockWeights = [];
  const caches = cache && layers.length > 0 ? kvCacheInputs(g, arch, layers.length, cache.padded) : null;
  if (caches) {
    Object.assign(inputs, caches);
    Object.assign(outputs, { presentKeys: [], presentValues: [] });
  }

  // ---- the blocks ----
  let h = h0;
  const hidden = [h0];
  if (layers.length > 0) {
    const seq = sequenceOf(g, arch, {
      tokens: h0,
      pastKey: caches?.pastKeys[0],
      positionIds: caches?.positionIds,
      keyValid: caches?.keyValid,
      maxSeqLen: opts.maxSeqLen ?? arch.maxPositions,
      layers,
    });
    const parts = blockParts(g, arch, opts, seq, from, inputs, outputs);
    for (const i of layers) {
      const k = i - from;
      const gate = inputs.gates
        ? g.node("Gather", [inputs.gates, g.constant("int64", [], [BigInt(k)])], { axis: 0 })
        : undefined;
      const step = (hIn: string) => {
        const b = arch.family.block(parts, i, hIn);
        if (!gate) return g.node("Add", [b.mid, b.mlp]);
        return g.node("Add", [hIn, g.node("Mul", [gate, g.node("Add", [b.attention, b.mlp])])]);
      };
      if (opts.skipGatedBlocks && gate) {
        const run = g.node("Not", [g.node("Equal", [gate, g.scalar(0)])]);
        const hIn = h;
        const thenBranch = g.subgraph(() => [step(hIn)]);
        const elseBranch = g.subgraph(() => [g.node("Identity", [hIn])]);
        h = g.node("If", [run], { then_branch: { graph: thenBranch }, else_branch: { graph: elseBranch } });
      } else {
        h = step(h);
      }
      hidden.push(h);
    }
  }

  // ---- head ----
  if (opts.scoredPositions && (!atHead || !wantNll || opts.logits))
    throw new Error("scoredPositions is for a graph whose head outputs the NLL alone");
  const headIn = opts.scoredPositions ? scoredHidden(g, arch.hiddenSize, h, inputs) : h;
  const targetDims = opts.scoredPositions ? [1, "scored"] : ["batch", "seq"];
  const chunkRows = opts.headChunkRows ?? defaultHeadChunkRows(arch.hiddenSize);
  // a head that fits one chunk is read whole, as below
  if (atHead && wantNll && !opts.logits && opts.weightRows && !arch.tiedHead && chunkRows < arch.vocabSize) {
    inputs.targets = g.input("targets", "int64", targetDims);
    const nll = chunkedTokenNll(
      g,
      arch,
      opts.weight,
      opts.weightRows,
      headIn,
      inputs.targets,
      chunkRows,
      opts.dtype,
    );
    outputs.nll = g.output(g.rename(nll, "nll"), "float32", targetDims);
  } else if (atHead && (wantNll || opts.logits)) {
    const dtype = opts.dtype;
    const all =
      opts.logits === "last" && !wantNll ? undefined : lmHead(g, arch, opts.weight, headIn, false, dtype);
    if (opts.logits === "last") {
      const last = lmHead(g, arch, opts.weight, h, true, dtype);
      outputs.logits = g.output(g.rename(last, "logits"), "float32", ["batch", arch.vocabSize]);
    } else if (opts.logits) {
      outputs.logits = g.output(g.rename(all!, "logits"), "float32", ["batch", "seq", arch.vocabSize]);
    }
    if (wantNll) {
      inputs.targets = g.input("targets", "int64", targetDims);
      const nll = tokenNll(g, opts.logits === true ? outputs.logits! : all!, inputs.targets);
      outputs.nll = g.output(g.rename(nll, "nll"), "float32", targetDims);
    }
  }

  // ---- hidden states out ----
  // A graph input, or a value already given another output name, needs a value of its own.
  const own = (v: string) => (v === inputs.hiddenIn || opts.hidden ? g.node("Identity", [v]) : v);
  const hiddenShape = ["batch", "seq", arch.hiddenSize];
  if (opts.hiddenOut) outputs.hiddenOut = g.output(g.rename(own(h), "hidden_out"), "float32", hiddenShape);
  if (opts.hidden) {
    outputs.hidden = hidden.map((v, k) => {
      const src = v === inputs.hiddenIn ? g.node("Identity", [v]) : v;
      return g.output(g.rename(src, `hidden_${k}`), "float32", hiddenShape);
    });
  }
  return { graph: g, arch, dtype: opts.dtype ?? "float32", blocks, inputs, outputs };
}

/** The inputs of a KV cache over n blocks (and of padded rows). */
function kvCacheInputs(g: GraphBuilder, arch: Architecture, n: number, padded: boolean) {
  const kvShape = ["batch", arch.numKvHeads, "past", arch.headDim];
  const pastKeys: string[] = [];
  const pastValues: string[] = [];
  for (let k = 0; k < n; k++) {
    pastKeys.push(g.input(`past_key_${k}`, "float32", kvShape));
    pastValues.push(g.input(`past_value_${k}`, "float32", kvShape));
  }
  const inputs: { pastKeys: string[]; pastValues: string[]; positionIds?: string; keyValid?: string } = {
    pastKeys,
    pastValues,
  };
  if (padded) {
    inputs.positionIds = g.input("position_ids", "int64", ["batch", "seq"]);
    inputs.keyValid = g.input("key_valid", "bool", ["batch", "total"]);
  }
  return inputs;
}

/** The parts a family's block equations are written with, bound to this graph's weights, sequence and cache. */
function blockParts(
  g: GraphBuilder,
  arch: Architecture,
  opts: ForwardGraphOptions,
  seq: Sequence,
  from: number,
  inputs: ForwardGraph["inputs"],
  outputs: ForwardGraph["outputs"],
): BlockParts {
  const weightInputs = new Map<string, string>();
  const weightOf = (i: number, suffix: string): string => {
    if (opts.blockWeights !== "inputs") return opts.weight(layerName(i, suffix));
    const name = `blocks.${i - from}.${suffix}`;
    if (!weightInputs.has(name)) {
      const t = blockTensor(arch, suffix);
      if (!t) throw new Error(`the ${arch.modelType} block has no tensor ${suffix}`);
      const type = weightElemType(opts.dtype ?? "float32", t.shape) as BlockWeightInput["type"];
      weightInputs.set(name, g.input(name, type, t.shape));
      inputs.blockWeights!.push({ name, block: i - from, suffix, dims: t.shape, type });
    }
    return name;
  };
  const dims = {
    heads: arch.numHeads,
    kvHeads: arch.numKvHeads,
    headDim: arch.headDim,
    scale: arch.attentionScale,
    softcap: arch.attnSoftcap,
    dtype: opts.dtype,
  };
  const kvOut = ["batch", arch.numKvHeads, "total", arch.headDim];
  return {
    g,
    arch,
    norm: (x, i, name) => rmsNorm(g, x, weightOf(i, `${name}.weight`), arch.normEps, arch.normOnePlusWeight),
    linear: (x, i, module) => {
      const bias = blockTensor(arch, `${module}.bias`) !== undefined;
      const base = (v: string) => {
        const b = bias ? weightOf(i, `${module}.bias`) : undefined;
        const y = opts.blockWeights === "inputs" ? null : (opts.matmul?.(v, layerName(i, module)) ?? null);
        if (y === null) return linear(g, v, weightOf(i, `${module}.weight`), b, opts.dtype);
        return b ? g.node("Add", [y, b]) : y;
      };
      return opts.linear ? opts.linear(x, layerName(i, module), base) : base(x);
    },
    heads: (x, n) => splitHeads(g, x, n, arch.headDim),
    rope: (x, i) => seq.rope(x, i),
    attend: (i, q, k, v) => {
      let keys = k;
      let values = v;
      if (inputs.pastKeys && inputs.pastValues) {
        const c = i - from;
        keys = g.rename(g.node("Concat", [inputs.pastKeys[c]!, k], { axis: 2 }), `present_key_${c}`);
        values = g.rename(g.node("Concat", [inputs.pastValues[c]!, v], { axis: 2 }), `present_value_${c}`);
        outputs.presentKeys!.push(g.output(keys, "float32", kvOut));
        outputs.presentValues!.push(g.output(values, "float32", kvOut));
      }
      const o = groupedQueryAttention(g, q, keys, values, seq.mask(i), dims);
      return mergeHeads(g, o, arch.numHeads, arch.headDim);
    },
    act: (x) => activation(g, x, arch.activation),
    normWith: (x, i, suffix) => rmsNorm(g, x, weightOf(i, suffix), arch.normEps, arch.normOnePlusWeight),
    tensor: (i, suffix) => weightOf(i, suffix),
  };
}

/** Hidden states [1, N, H] of the flat positions in the new input `scored_positions` [N] of h [B, T, H]. */
function scoredHidden(
  g: GraphBuilder,
  hiddenSize: number,
  h: string,
  inputs: ForwardGraph["inputs"],
): string {
  inputs.scoredPositions = g.input("scored_positions", "int64", ["scored"]);
  const flat = g.node("Reshape", [h, g.int64s([-1, hiddenSize])]);
  const picked = g.node("Gather", [flat, inputs.scoredPositions], { axis: 0 });
  return g.node("Unsqueeze", [picked, g.int64s([0])]);
}
