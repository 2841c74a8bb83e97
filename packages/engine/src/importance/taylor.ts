// Taylor+ block importance (the authors' anal_block_sensitivity_taylor.py): salience = W ⊙ ∂L/∂W with L the
// mean next-token loss of a calibration batch, summed over batches before the absolute value; Σ|salience|
// per weight matrix (norm weights included, embeddings excluded); summed per block.
//
// One graph run covers every batch: Σ_b W ⊙ ∂L_b/∂W = W ⊙ ∂(Σ_b L_b)/∂W, and Σ_b L_b is the per-token NLL
// weighted by 1/(tokens of its batch). The graph reduces each salience tensor to its score in place, so only
// one number per weight leaves ONNX Runtime, never a gradient.
//
// In a half compute dtype (../models/precision.ts) the gradients of the held matrices are half too, and those of
// a mean loss (each token weighing 1/(rows·(T−1)), ~1e-4) fall near float16's smallest normal (6e-5), where
// they lose digits or flush to zero. So the loss is scaled by S = batchSize·(T−1) (each token then weighs about 1;
// the gradients of a summed NLL are O(1) per token, far below float16's 65504) and the scores divided by S in
// float32: Σ|W ⊙ ∂(S·L)/∂W| = S·Σ|W ⊙ ∂L/∂W| exactly, so this is loss scaling with nothing to undo but S.
import type { Checkpoint } from "@shortened/hf";
import { grad } from "../autodiff/grad.js";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";
import { parameterNames } from "../models/architecture.js";
import { buildForwardGraph } from "../models/forward-graph.js";
import { type ComputeDtype, heldInComputeDtype, toFloat32 } from "../models/precision.js";
import { shiftedTargets } from "../models/targets.js";
import { checkpointWeights, openCheckpoint } from "../models/weights.js";
import { plusOrder, stableOrder } from "./orders.js";

export interface TaylorOptions extends SessionOptions {
  /** calibration rows per batch (the authors' default 10) */
  batchSize?: number;
  /** compute dtype (default float32) */
  dtype?: ComputeDtype;
  signal?: AbortSignal;
}

export interface TaylorRows {
  flat: ArrayLike<number>;
  rows: number;
  seqLen: number;
}

export interface TaylorResult {
  /** [HF name, Σ|W ⊙ G|] in named_parameters order (the authors' weight_score.csv) */
  weightScores: [string, number][];
  /** per block key ("model.layers.i") plus model.norm.weight / lm_head.weight (block_score_all.csv) */
  blockScoreAll: Record<string, number>;
  blockScores: number[];
  blockOrder: number[];
  blockOrderPlus: number[];
  /** the mean loss of each calibration batch */
  batchLosses: number[];
}

/** The weights Taylor+ scores: every `*weight` parameter but the embedding. */
export function taylorWeightNames(names: string[]): string[] {
  return names.filter((k) => k.includes("weight") && !k.includes("embed_tokens"));
}

export async function taylorImportance(
  model: string | Checkpoint,
  rows: TaylorRows,
  opts: TaylorOptions = {},
): Promise<TaylorResult> {
  const ckpt = openCheckpoint(model);
  const c = ckpt.config;
  const bs = Math.max(1, opts.batchSize ?? 10);
  const { rows: N, seqLen: T } = rows;
  const scored = taylorWeightNames(parameterNames(c));

  const g = new GraphBuilder();
  const dtype = opts.dtype ?? "float32";
  const lossScale = dtype === "float32" ? 1 : bs * (T - 1);
  const fg = buildForwardGraph(c, { graph: g, weight: checkpointWeights(g, ckpt, dtype), dtype, nll: true });
  const tokenWeights = g.input("token_weights", "float32", ["batch", "seq"]);
  const loss = g.node("ReduceSum", [g.node("Mul", [fg.outputs.nll!, tokenWeights])], { keepdims: 0 });
  const grads = grad(g, loss, scored);
  const held = new Set(scored.filter((k) => heldInComputeDtype(ckpt.tensors.get(k)!.shape)));
  const widen = (v: string, w: string) => (held.has(w) ? toFloat32(g, dtype, v) : v);
  const scores = scored.map((w, i) =>
    g.node("Reshape", [
      // W ⊙ G in the weight's dtype, then |·| and the sum in float32 (a held matrix's salience is widened).
      g.node("ReduceSum", [g.node("Abs", [widen(g.node("Mul", [w, grads[i]!]), w)])], { keepdims: 0 }),
      g.int64s([1]),
    ]),
  );
  g.output(g.rename(g.node("Concat", scores, { axis: 0 }), "weight_scores"), "float32", [scored.length]);
  const session = await createSession(g, { device: opts.device, threads: opts.threads });
  g.initializers.clear();

  const weights = taylorTokenWeights(N, T, bs, lossScale);
  opts.signal?.throwIfAborted();
  const ids = BigInt64Array.from(Array.from(rows.flat, (v) => BigInt(v)));
  const targets = BigInt64Array.from(Array.from(shiftedTargets(rows.flat, N, T), (v) => BigInt(v)));
  const L = c.numHiddenLayers;
  const out = await session.run({
    [fg.inputs.ids!]: new ort.Tensor("int64", ids, [N, T]),
    [fg.inputs.targets!]: new ort.Tensor("int64", targets, [N, T]),
    [fg.inputs.gates!]: new ort.Tensor("float32", new Float32Array(L).fill(1), [L]),
    token_weights: new ort.Tensor("float32", weights, [N, T]),
  });
  await session.release();
  const ws = out.weight_scores!.data as Float32Array;
  const nll = out.nll!.data as Float32Array;

  return taylorResult(
    scored.map((k, i) => [k, ws[i]! / lossScale]),
    nll,
    { rows: N, seqLen: T, batchSize: bs, numLayers: L },
  );
}

/** Σ_b L_b as one weighted sum: batch b holds rows [b·bs, min(N, (b+1)·bs)), each of its tokens weighs
 *  1/(its rows · T−1 predictions per row), times `scale` (float16's loss scale); the last position weighs 0. */
export function taylorTokenWeights(N: number, T: number, bs: number, scale = 1): Float32Array {
  const weights = new Float32Array(N * T);
  for (let r = 0; r < N; r++) {
    const b = Math.floor(r / bs);
    const rowsInBatch = Math.min(N, (b + 1) * bs) - b * bs;
    for (let t = 0; t < T - 1; t++) weights[r * T + t] = scale / (rowsInBatch * (T - 1));
  }
  return weights;
}

/** The result from the weights' scores (in named_parameters order) and the per-token NLL [N, T]. */
export function taylorResult(
  weightScores: [string, number][],
  nll: ArrayLike<number>,
  s: { rows: number; seqLen: number; batchSize: number; numLayers: number },
): TaylorResult {
  const { rows: N, seqLen: T, batchSize: bs, numLayers: L } = s;
  const batchLosses: number[] = [];
  for (let r0 = 0; r0 < N; r0 += bs) {
    const r1 = Math.min(N, r0 + bs);
    let sum = 0;
    for (let r = r0; r < r1; r++) for (let t = 0; t < T - 1; t++) sum += nll[r * T + t]!;
    batchLosses.push(sum / ((r1 - r0) * (T - 1)));
  }
  const blockScoreAll: Record<string, number> = {};
  for (const [k, v] of weightScores) {
    const key = k.split(".").slice(0, 3).join(".");
    blockScoreAll[key] = (blockScoreAll[key] ?? 0) + v;
  }
  const blockScores = Array.from({ length: L }, (_, i) => blockScoreAll[`model.layers.${i}`]!);
  const blockOrder = stableOrder(blockScores);
  return {
    weightScores,
    blockScoreAll,
    blockScores,
    blockOrder,
    blockOrderPlus: plusOrder(blockOrder, L),
    batchLosses,
  };
}
