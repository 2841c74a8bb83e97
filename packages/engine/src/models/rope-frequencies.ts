// RoPE's inverse frequencies and attention factor for every rope_scaling type, as transformers 4.57.6's
// modeling_rope_utils computes them for a fresh model running a sequence of T tokens (the oracle's
// rope_inv_freq, its exact float64 variant). With d the rotated channels, θ the base, M max_position_embeddings:
//
//   default   inv_i = θ^(−i/d)  (i = 0, 2, …, d−2)                      factor 1
//   linear    inv_i / factor
//   dynamic   T ≤ M: default;  T > M: θ' = θ·((factor·T/M) − (factor−1))^(d/(d−2)) in place of θ
//   yarn      inv_inter·(1−e) + inv_extra·e, e = 1 − ramp(low, high)     factor mscale(…)
//   longrope  1/(f_i · θ^(i/d)), f = long_factor if T > Mo else short    factor √(1 + ln s / ln Mo)
//   llama3    low frequencies / factor, high ones kept, a smooth ramp between
//
// Dynamic and longrope depend on T; ./sequence.ts picks (or computes) their tables in the graph.
import type { ModelConfig, RopeScaling } from "@shortened/hf";

/** One rotary embedding: its scaling, base θ, rotated channels and the lengths its scaling reads. */
export interface RopeSpec {
  scaling: RopeScaling;
  theta: number;
  /** rotated channels per head (head_dim, or Phi-3's partial rotary dimension) */
  dim: number;
  /** max_position_embeddings */
  maxPositions: number;
  /** the top-level original_max_position_embeddings (Phi-3), which longrope prefers */
  originalMaxPositions: number | null;
}

/** The global rotary embedding of a config, and gemma3_text's local one (rope_local_base_freq, never scaled). */
export function ropeSpecs(c: ModelConfig): { global: RopeSpec; local: RopeSpec | null } {
  const global: RopeSpec = {
    scaling: c.ropeScaling,
    theta: c.ropeTheta,
    dim: c.rotaryDim,
    maxPositions: c.maxPositionEmbeddings,
    originalMaxPositions: c.originalMaxPositionEmbeddings,
  };
  const local =
    c.ropeLocalTheta === null
      ? null
      : { ...global, scaling: { type: "default" as const }, theta: c.ropeLocalTheta };
  return { global, local };
}

/** The longest sequence a model serves: max_position_embeddings, except where its RoPE scaling is defined for
 *  longer sequences (dynamic NTK; longrope switching to its long factors past max_position_embeddings). */
export function maxSequenceLength(c: ModelConfig): number {
  const s = c.ropeScaling.type;
  if (s === "dynamic" || (s === "longrope" && c.originalMaxPositionEmbeddings === null))
    return Number.POSITIVE_INFINITY;
  return c.maxPositionEmbeddings;
}

export interface RopeFrequencies {
  invFreq: Float64Array;
  attentionFactor: number;
}

/** The exponents i/d for i = 0, 2, …, d−2. */
const exponents = (dim: number) => Float64Array.from({ length: dim / 2 }, (_, k) => (2 * k) / dim);

/** Longrope's switch length Mo and scale s: the top-level original length if the config has one (then
 *  s = M / Mo), else M with rope_scaling.factor. */
export function longropeLengths(spec: RopeSpec): { switchAt: number; factor: number | null } {
  if (spec.scaling.type !== "longrope") throw new Error("not a longrope spec");
  if (spec.originalMaxPositions)
    return { switchAt: spec.originalMaxPositions, factor: spec.maxPositions / spec.originalMaxPositions };
  return { switchAt: spec.maxPositions, factor: spec.scaling.factor };
}

/** inv_freq and the attention factor for a sequence of T tokens. */
export function ropeFrequencies(spec: RopeSpec, T: number): RopeFrequencies {
  const { scaling: s, theta, dim } = spec;
  const M = spec.maxPositions;
  const expo = exponents(dim);
  const plain = expo.map((e) => 1 / theta ** e);
  switch (s.type) {
    case "default":
      return { invFreq: plain, attentionFactor: 1 };
    case "linear":
      return { invFreq: plain.map((x) => x / s.factor), attentionFactor: 1 };
    case "dynamic": {
      const base = theta * ((s.factor * Math.max(T, M)) / M - (s.factor - 1)) ** (dim / (dim - 2));
      return { invFreq: expo.map((e) => 1 / base ** e), attentionFactor: 1 };
    }
    case "yarn":
      return yarnFrequencies(spec, s);
    case "longrope": {
      const { switchAt, factor } = longropeLengths(spec);
      let af = s.attentionFactor;
      if (af === null) {
        if (factor === null)
          throw new Error("longrope without original_max_position_embeddings needs rope_scaling.factor");
        af = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(switchAt));
      }
      const ext = T > switchAt ? s.longFactor : s.shortFactor;
      return { invFreq: expo.map((e, k) => 1 / (ext[k]! * theta ** e)), attentionFactor: af };
    }
    case "llama3": {
      const old = s.originalMaxPositions;
      const lowWavelen = old / s.lowFreqFactor;
      const highWavelen = old / s.highFreqFactor;
      const inv = plain.map((x) => {
        const wavelen = (2 * Math.PI) / x;
        const scaled = wavelen > lowWavelen ? x / s.factor : x;
        const smooth = (old / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
        return medium ? ((1 - smooth) * scaled) / s.factor + smooth * scaled : scaled;
      });
      return { invFreq: inv, attentionFactor: 1 };
    }
  }
}

function yarnFrequencies(spec: RopeSpec, s: Extract<RopeScaling, { type: "yarn" }>): RopeFrequencies {
  const { theta, dim } = spec;
  const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  let af = s.attentionFactor;
  if (af === null)
    af =
      s.mscale && s.mscaleAllDim
        ? mscale(s.factor, s.mscale) / mscale(s.factor, s.mscaleAllDim)
        : mscale(s.factor);
  const omax = s.originalMaxPositions || spec.maxPositions;
  const correctionDim = (rotations: number) =>
    (dim * Math.log(omax / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(s.betaFast);
  let high = correctionDim(s.betaSlow);
  if (s.truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001;
  const inv = exponents(dim).map((e, k) => {
    const posFreq = theta ** e;
    const ramp = Math.min(Math.max((k - low) / (high - low), 0), 1);
    const extra = 1 - ramp;
    return (1 / (s.factor * posFreq)) * (1 - extra) + (1 / posFreq) * extra;
  });
  return { invFreq: inv, attentionFactor: af };
}
