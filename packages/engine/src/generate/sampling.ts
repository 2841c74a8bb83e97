// Next-token choice from one row of logits, with the Hugging Face `generate` order of logits warpers:
// temperature, then top-k (keep every token whose logit is at least the k-th largest), then top-p (keep the
// smallest set of most likely tokens whose probability reaches p, at least one), then a draw from the
// renormalized distribution. Greedy is the argmax (first index on ties). Draws come from a seeded
// mulberry32 stream, so a seed reproduces a generation exactly.
import { UserError } from "@shortened/contracts";
import { mulberry32 } from "../random.js";

export interface SamplingOptions {
  /** false: greedy (argmax). */
  doSample: boolean;
  temperature?: number;
  /** 0 = off */
  topK?: number;
  /** 1 = off */
  topP?: number;
  seed?: number;
}

/** The decoding settings a generation runs with and records: sampling when asked for (`sample`) or implied by
 *  any of temperature / top-k / top-p, else greedy; each warper's value in effect (its "off" value where not
 *  given). Shared by `shortened generate` and the evaluate "generate" task. */
export function decodingSettings(o: {
  sample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed: number;
  maxNewTokens: number;
}): Required<SamplingOptions> & { maxNewTokens: number } {
  return {
    doSample: Boolean(
      o.sample || o.temperature !== undefined || o.topK !== undefined || o.topP !== undefined,
    ),
    temperature: o.temperature ?? 1,
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
    seed: o.seed,
    maxNewTokens: o.maxNewTokens,
  };
}

/** Uniform floats in [0, 1) from the seeded mulberry32 stream (the oracle's PRNG). */
export function uniformStream(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

export function checkSampling(o: SamplingOptions): void {
  if (o.temperature !== undefined && !(o.temperature > 0))
    throw new UserError("bad_request", "`temperature` must be > 0");
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0))
    throw new UserError("bad_request", "`topK` must be an integer ≥ 0");
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1))
    throw new UserError("bad_request", "`topP` must be in (0, 1]");
}

export function argmaxRow(logits: Float32Array, offset: number, n: number): number {
  let best = 0;
  let bestValue = logits[offset]!;
  for (let i = 1; i < n; i++) {
    const v = logits[offset + i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** The candidate tokens and their probabilities after temperature, top-k and top-p. */
export function warpedDistribution(
  row: ArrayLike<number>,
  o: SamplingOptions,
): { ids: number[]; probs: number[] } {
  const t = o.temperature ?? 1;
  let ids = Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
  const scaled = (i: number) => row[i]! / t;
  if (o.topK && o.topK < ids.length) {
    const kth = scaled(ids[o.topK - 1]!);
    ids = ids.filter((i) => scaled(i) >= kth);
  }
  const max = scaled(ids[0]!);
  let weights = ids.map((i) => Math.exp(scaled(i) - max));
  let total = weights.reduce((a, b) => a + b, 0);
  if (o.topP !== undefined && o.topP < 1) {
    // keep the most likely tokens until the mass reaches top_p (HF removes those with cumulative mass ≤ 1 − p
    // counted from the least likely end, which keeps the same set)
    let mass = 0;
    let keep = 0;
    while (keep < ids.length && mass < o.topP * total) mass += weights[keep++]!;
    ids = ids.slice(0, Math.max(1, keep));
    weights = weights.slice(0, ids.length);
    total = weights.reduce((a, b) => a + b, 0);
  }
  return { ids, probs: weights.map((w) => w / total) };
}

export function chooseToken(
  logits: Float32Array,
  offset: number,
  vocab: number,
  o: SamplingOptions,
  rand: () => number,
): number {
  if (!o.doSample) return argmaxRow(logits, offset, vocab);
  const { ids, probs } = warpedDistribution(logits.subarray(offset, offset + vocab), o);
  const u = rand();
  let acc = 0;
  for (let i = 0; i < ids.length; i++) {
    acc += probs[i]!;
    if (u < acc) return ids[i]!;
  }
  return ids[ids.length - 1]!;
}
