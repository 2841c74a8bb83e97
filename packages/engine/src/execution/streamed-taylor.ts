// Taylor+ block-streamed: a block-wise backward with recomputation, for models whose gradient graph does not fit.
//
// Forward: every calibration row goes through the blocks one block at a time (each block read once), keeping the
// input states h_l of every block. The head is read chunk by chunk twice: once for each token's logsumexp and NLL,
// once for the gradient, where chunk c's surrogate Σ_t w_t (Σ_{v∈c} exp(z_tv − lse_t) − [target_t ∈ c] z_t,target)
// (lse_t held constant) has exactly the true loss's gradient w_t (softmax − onehot) on its logits; it gives
// ∂L/∂h_L, ∂L/∂(final norm) and Σ|W_c ⊙ ∂L/∂W_c| of the head rows. Then blocks in reverse: block l is read again,
// recomputed from its saved input h_l by a one-block graph that back-propagates the incoming ∂L/∂h_{l+1} (the
// project's autodiff with that gradient as seed), reduces Σ|W ⊙ ∂L/∂W| of each of its weights in the graph and
// hands ∂L/∂h_l down. Every row runs in one call per block, as the whole-model graph runs every row at once, so the
// gradient summed over batches before the absolute value is exactly the whole model's.
//
// In a half compute dtype (the model opened with one) the block and head graphs are the whole model's in it:
// matrices fed in float16, MatMuls and the weight gradients in float16 (MatMuls with the transposes on the
// activations, ../autodiff/rules-linear.ts), with the whole model's loss scale S = batchSize·(T−1) on the token
// weights (../importance/taylor.ts: a mean loss's gradients would fall below float16's normals) and the scores
// divided by S.
import { grad } from "../autodiff/grad.js";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";
import {
  type TaylorResult,
  type TaylorRows,
  taylorResult,
  taylorTokenWeights,
  taylorWeightNames,
} from "../importance/taylor.js";
import { FINAL_NORM, LM_HEAD, layerName, parameterNames } from "../models/architecture.js";
import { buildForwardGraph, type ForwardGraph } from "../models/forward-graph.js";
import { type ComputeDtype, toFloat32 } from "../models/precision.js";
import { shiftedTargets } from "../models/targets.js";
import { headChunkLogits } from "./streamed-head.js";
import type { HiddenRows, StreamedModel } from "./streamed-model.js";

export interface StreamedTaylorOptions {
  /** calibration rows per batch (the loss is the sum of the batches' mean losses) */
  batchSize: number;
  signal?: AbortSignal;
  /** blocks done of the forward (L) and backward (L) sweeps */
  onProgress?: (done: number, total: number) => void;
}

interface BlockBackward {
  graph: ForwardGraph;
  session: ort.InferenceSession;
  /** the block's weight inputs that are scored, in the order of the output `weight_scores` */
  scored: string[];
}

export async function streamedTaylorImportance(
  model: StreamedModel,
  rows: TaylorRows,
  o: StreamedTaylorOptions,
): Promise<TaylorResult> {
  const { arch } = model;
  const c = model.checkpoint.config;
  const L = model.numLayers;
  const { rows: N, seqLen: T } = rows;
  const H = arch.hiddenSize;
  const bs = Math.max(1, o.batchSize);
  const total = 2 * L;
  const scoredNames = new Set(taylorWeightNames(parameterNames(c)));
  const score = new Map<string, number>();

  // ---- forward, keeping each block's input ----
  const ids = Array.from(rows.flat);
  const saved: HiddenRows[] = [model.embed(ids, N, T)];
  for (let l = 0; l < L; l++) {
    o.signal?.throwIfAborted();
    model.loadBlock(l);
    saved.push(await model.runBlock(l, saved[l]!));
    o.onProgress?.(l + 1, total);
  }
  const targets = shiftedTargets(ids, N, T);
  const [{ nll, lse }] = (await model.headNllLse([{ h: saved[L]!, targets }])) as [
    { nll: Float32Array; lse: Float64Array },
  ];

  // ---- the head's gradient, chunk by chunk ----
  const lossScale = model.dtype === "float32" ? 1 : bs * (T - 1);
  const tokenWeights = taylorTokenWeights(N, T, bs, lossScale);
  const n = N * T;
  const head = await createSession(headBackwardGraph(model), backwardSession(model));
  const gHidden = new Float64Array(n * H);
  const gNorm = new Float64Array(H);
  let headScore = 0;
  try {
    const V = arch.vocabSize;
    for (let v0 = 0; v0 < V; v0 += model.headRows) {
      o.signal?.throwIfAborted();
      const rowsHere = Math.min(model.headRows, V - v0);
      const local = new BigInt64Array(n);
      const inChunk = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const t = targets[k]! - v0;
        if (t >= 0 && t < rowsHere) {
          local[k] = BigInt(t);
          inChunk[k] = 1;
        }
      }
      const out = await head.run({
        hidden: new ort.Tensor("float32", saved[L]!.data, [n, H]),
        head_weight: model.loadHeadChunk(v0, rowsHere),
        final_norm: new ort.Tensor("float32", model.finalNorm, [H]),
        lse: new ort.Tensor("float32", Float32Array.from(lse), [n]),
        targets: new ort.Tensor("int64", local, [n]),
        target_weights: new ort.Tensor(
          "float32",
          inChunk.map((m, k) => m * tokenWeights[k]!),
          [n],
        ),
        token_weights: new ort.Tensor("float32", tokenWeights, [n]),
      });
      headScore += (out.head_score!.data as Float32Array)[0]! / lossScale;
      addInto(gHidden, out.grad_hidden!.data as Float32Array);
      addInto(gNorm, out.grad_norm!.data as Float32Array);
    }
  } finally {
    await head.release();
  }
  let normScore = 0;
  for (let d = 0; d < H; d++) normScore += Math.abs(model.finalNorm[d]! * gNorm[d]!);
  normScore /= lossScale;
  score.set(FINAL_NORM, normScore);
  if (!arch.tiedHead) score.set(LM_HEAD, headScore);
  saved.pop();

  // ---- blocks in reverse, recomputed from their saved inputs ----
  const runners = new Map<string, BlockBackward>();
  let gradOut: Float32Array = Float32Array.from(gHidden);
  try {
    for (let l = L - 1; l >= 0; l--) {
      o.signal?.throwIfAborted();
      const kind = model.kindOf(l);
      let r = runners.get(kind);
      if (!r) {
        r = await blockBackward(model, l, scoredNames);
        runners.set(kind, r);
      }
      const x = saved[l]!;
      const out = await r.session.run({
        ...model.blockWeightFeeds(l),
        [r.graph.inputs.hiddenIn!]: new ort.Tensor("float32", x.data, [N, T, H]),
        [r.graph.inputs.gates!]: new ort.Tensor("float32", new Float32Array([1]), [1]),
        grad_out: new ort.Tensor("float32", gradOut, [N, T, H]),
      });
      const ws = out.weight_scores!.data as Float32Array;
      r.scored.forEach((suffix, k) => {
        score.set(layerName(l, suffix), ws[k]! / lossScale);
      });
      gradOut = out.grad_in!.data as Float32Array;
      saved.pop();
      o.onProgress?.(2 * L - l, total);
    }
  } finally {
    await Promise.all([...runners.values()].map((r) => r.session.release()));
  }

  const weightScores = [...scoredNames].map((k) => {
    const v = score.get(k);
    if (v === undefined) throw new Error(`streamed Taylor+: no score for ${k}`);
    return [k, v] as [string, number];
  });
  return taylorResult(weightScores, nll, { rows: N, seqLen: T, batchSize: bs, numLayers: L });
}

function addInto(acc: Float64Array, x: Float32Array): void {
  for (let k = 0; k < x.length; k++) acc[k] = acc[k]! + x[k]!;
}

/** Block l's kind as one graph: the scoring graph's block, back-propagated from the seed `grad_out` (∂L/∂h_out);
 *  outputs `grad_in` (∂L/∂h_in) and `weight_scores` (Σ|W ⊙ ∂L/∂W| of each scored weight). */
async function blockBackward(
  model: StreamedModel,
  l: number,
  scoredNames: Set<string>,
): Promise<BlockBackward> {
  const g = new GraphBuilder();
  const graph = buildForwardGraph(model.checkpoint.config, {
    graph: g,
    weight: (name) => {
      throw new Error(`a streamed block graph reads no ${name}`);
    },
    blocks: { from: l, to: l + 1 },
    input: "hidden",
    blockWeights: "inputs",
    hiddenOut: true,
    nll: false,
    gates: true,
    maxSeqLen: model.maxSeqLen,
    dtype: model.dtype,
  });
  const H = model.arch.hiddenSize;
  const seed = g.input("grad_out", "float32", ["batch", "seq", H]);
  const weights = graph.inputs.blockWeights!.filter((w) => scoredNames.has(layerName(l, w.suffix)));
  const grads = grad(g, graph.outputs.hiddenOut!, [graph.inputs.hiddenIn!, ...weights.map((w) => w.name)], {
    seed,
  });
  g.output(g.rename(grads[0]!, "grad_in"), "float32", ["batch", "seq", H]);
  g.output(
    g.rename(
      g.node(
        "Concat",
        weights.map((w, k) =>
          absSum(g, w.name, grads[k + 1]!, w.type === "float32" ? "float32" : model.dtype),
        ),
        { axis: 0 },
      ),
      "weight_scores",
    ),
    "float32",
    [weights.length],
  );
  const session = await createSession(g, backwardSession(model));
  return { graph, session, scored: weights.map((w) => w.suffix) };
}

/** Σ|w ⊙ g| as a [1] tensor: w ⊙ g in the weight's dtype (`dtype`), |·| and the sum in float32, as the whole
 *  model's graph (../importance/taylor.ts). */
function absSum(g: GraphBuilder, w: string, gw: string, dtype: ComputeDtype): string {
  return g.node("Reshape", [
    g.node("ReduceSum", [g.node("Abs", [toFloat32(g, dtype, g.node("Mul", [w, gw]))])], { keepdims: 0 }),
    g.int64s([1]),
  ]);
}

/** The gradient of the head over one chunk of vocabulary rows (the surrogate in the file comment): outputs
 *  `grad_hidden` [tokens, H], `grad_norm` [H] and `head_score` [1] = Σ|W_c ⊙ ∂L/∂W_c|. */
function headBackwardGraph(model: StreamedModel): GraphBuilder {
  const { arch } = model;
  const H = arch.hiddenSize;
  const g = new GraphBuilder();
  const h = g.input("hidden", "float32", ["tokens", H]);
  const w = g.input("head_weight", model.dtype, ["rows", H]);
  const norm = g.input("final_norm", "float32", [H]);
  const lse = g.input("lse", "float32", ["tokens"]);
  const targets = g.input("targets", "int64", ["tokens"]);
  const targetWeights = g.input("target_weights", "float32", ["tokens"]);
  const tokenWeights = g.input("token_weights", "float32", ["tokens"]);
  const logits = headChunkLogits(g, arch, h, w, norm, model.dtype);
  const axis = g.int64s([1]);
  const probs = g.node("Exp", [g.node("Sub", [logits, g.node("Unsqueeze", [lse, axis])])]);
  const massTerm = g.node("Mul", [g.node("ReduceSum", [probs, axis], { keepdims: 0 }), tokenWeights]);
  const picked = g.node("Squeeze", [
    g.node("GatherElements", [logits, g.node("Unsqueeze", [targets, axis])], { axis: 1 }),
    axis,
  ]);
  const surrogate = g.node("ReduceSum", [g.node("Sub", [massTerm, g.node("Mul", [picked, targetWeights])])], {
    keepdims: 0,
  });
  const [gh, gw, gn] = grad(g, surrogate, [h, w, norm]) as [string, string, string];
  g.output(g.rename(gh, "grad_hidden"), "float32", ["tokens", H]);
  g.output(g.rename(gn, "grad_norm"), "float32", [H]);
  g.output(g.rename(absSum(g, w, gw, model.dtype), "head_score"), "float32", [1]);
  return g;
}

function backwardSession(model: StreamedModel): SessionOptions {
  return { ...model.sessionOptions, purpose: "streamed-backward" };
}
