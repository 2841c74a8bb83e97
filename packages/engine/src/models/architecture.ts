// The facts of an architecture, computed once from its config: the dimensions, each block's tensors (linear
// layers with their biases, norms) in named_parameters order, the norm style, the embedding scale, the MLP
// activation, each layer's attention, and whether the head is tied. Everything that needs one of these facts
// (the forward graph, checkpoint checks, magnitude and Taylor scoring, LoRA targets, checkpoint writing) reads
// them here; each family's own rules live in its file, found through ./families.ts.
import {
  EMBEDDING,
  FINAL_NORM,
  LM_HEAD,
  type ModelConfig,
  type ModelType,
  tensorLayout,
} from "@shortened/hf";
import { FAMILIES } from "./families.js";
import type { BlockTensor, Family, FamilyFacts } from "./family.js";
import { type RopeSpec, ropeSpecs } from "./rope-frequencies.js";

export interface Architecture extends FamilyFacts {
  config: ModelConfig;
  modelType: ModelType;
  family: Family;
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  normEps: number;
  activation: string;
  ropeTheta: number;
  maxPositions: number;
  /** the head is the embedding matrix (no lm_head.weight) */
  tiedHead: boolean;
  /** the global rotary embedding, and gemma3_text's local one for sliding layers */
  rope: { global: RopeSpec; local: RopeSpec | null };
  /** channels of a head that RoPE rotates (Phi-3's partial rotary: fewer than headDim) */
  rotaryDim: number;
  /** attention scores are q·kᵀ times this; null: divided by √headDim (the four original families, as the
   *  oracle computes them) */
  attentionScale: number | null;
  /** scores soft-capped as tanh(s/c)·c before the mask (gemma2), or null */
  attnSoftcap: number | null;
  /** logits soft-capped as tanh(z/c)·c (gemma2, gemma3_text), or null */
  finalSoftcap: number | null;
}

export { EMBEDDING, FINAL_NORM, LM_HEAD };

/** HF name of a block tensor: layerName(3, "self_attn.q_proj.weight") = "model.layers.3.self_attn.q_proj.weight" */
export const layerName = (i: number, suffix: string): string => `model.layers.${i}.${suffix}`;

const cache = new WeakMap<ModelConfig, Architecture>();

export function architectureOf(c: ModelConfig): Architecture {
  let arch = cache.get(c);
  if (!arch) {
    const family = FAMILIES[c.modelType];
    arch = {
      config: c,
      modelType: c.modelType,
      family,
      numLayers: c.numHiddenLayers,
      hiddenSize: c.hiddenSize,
      intermediateSize: c.intermediateSize,
      numHeads: c.numAttentionHeads,
      numKvHeads: c.numKeyValueHeads,
      headDim: c.headDim,
      vocabSize: c.vocabSize,
      normEps: c.rmsNormEps,
      activation: c.hiddenAct,
      ropeTheta: c.ropeTheta,
      maxPositions: c.maxPositionEmbeddings,
      tiedHead: c.tieWordEmbeddings,
      rope: ropeSpecs(c),
      rotaryDim: c.rotaryDim,
      attentionScale: attentionScaleOf(c),
      attnSoftcap: c.attnLogitSoftcapping,
      finalSoftcap: c.finalLogitSoftcapping,
      ...family.facts(c),
    };
    cache.set(c, arch);
  }
  return arch;
}

const ORIGINAL_FOUR: readonly ModelType[] = ["llama", "mistral", "qwen2", "gemma"];

/** transformers' attention scaling: query_pre_attn_scalar^-½ (gemma2, gemma3_text), head_dim^-½ for the later
 *  families; the original four divide by √head_dim (equal up to rounding). */
function attentionScaleOf(c: ModelConfig): number | null {
  if (c.queryPreAttnScalar !== null) return c.queryPreAttnScalar ** -0.5;
  return ORIGINAL_FOUR.includes(c.modelType) ? null : c.headDim ** -0.5;
}

/** The block tensor of this suffix, if the architecture has one. */
export function blockTensor(arch: Architecture, suffix: string): BlockTensor | undefined {
  return arch.blockTensors.find((t) => t.suffix === suffix);
}

/** The tensors the forward graph reads and their shapes, in HF named_parameters order (a tied head is the
 *  embedding, no tensor of its own). */
export function parameterShapes(c: ModelConfig): { name: string; shape: number[] }[] {
  return tensorLayout(c);
}

export function parameterNames(c: ModelConfig): string[] {
  return parameterShapes(c).map((t) => t.name);
}

/** The shape a tensor of this HF name must have under `c`, or null for a name the architecture does not use. */
export function expectedShape(c: ModelConfig, name: string): number[] | null {
  const arch = architectureOf(c);
  if (name === EMBEDDING || name === LM_HEAD) return [arch.vocabSize, arch.hiddenSize];
  if (name === FINAL_NORM) return [arch.hiddenSize];
  const m = /^model\.layers\.\d+\.(.+)$/.exec(name);
  return (m && blockTensor(arch, m[1]!)?.shape) ?? null;
}
