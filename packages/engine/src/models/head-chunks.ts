// The per-token loss with the head in vocabulary chunks, for training graphs over a frozen head:
//   NLL_t = logsumexp_c(lse_c) − z_t[target],   lse_c = logsumexp over chunk c's logits z_c = RMSNorm(h) E_cᵀ
// Exact (the same logits, the same log-sum-exp in another summation order). Why: ONNX Runtime's CPU float16
// MatMul widens its weight operand to float32 on every call, forward and backward, so a whole 32000 × 2048
// float16 head makes a 262 MB temporary each time; a chunk of the head makes one chunk's worth (≤ 32 MiB).
import type { GraphBuilder } from "../graph/builder.js";
import { type Architecture, FINAL_NORM, LM_HEAD } from "./architecture.js";
import { softcap } from "./attention.js";
import { rmsNorm } from "./norms.js";
import { type ComputeDtype, computeMatMul } from "./precision.js";

/** The float32 bytes one chunk of the head may widen to (the default chunk size). */
const CHUNK_FLOAT32_BYTES = 32 * 2 ** 20;

/** Vocabulary rows per head chunk by default: a chunk's float32 widening stays within 32 MiB. */
export function defaultHeadChunkRows(hiddenSize: number): number {
  return Math.max(1, Math.floor(CHUNK_FLOAT32_BYTES / (4 * hiddenSize)));
}

/** [from, to) row ranges of `rows` rows each (the last one shorter) covering the vocabulary. */
export function headChunks(vocabSize: number, rows: number): { from: number; to: number }[] {
  if (!(Number.isInteger(rows) && rows >= 1))
    throw new Error(`head chunk rows must be a positive integer (got ${rows})`);
  const out: { from: number; to: number }[] = [];
  for (let from = 0; from < vocabSize; from += rows) out.push({ from, to: Math.min(vocabSize, from + rows) });
  return out;
}

/**
 * Per-token NLL [B, T] of hidden states [B, T, H] and targets [B, T], the head read as chunks of rows:
 * `weightRows(LM_HEAD, from, to)` is the graph value of rows [from, to) of the (untied) head in the compute
 * dtype. Each chunk's logits round to a half dtype once and widen, as the whole head's do (./head.ts).
 */
export function chunkedTokenNll(
  g: GraphBuilder,
  arch: Architecture,
  weight: (name: string) => string,
  weightRows: (name: string, from: number, to: number) => string,
  h: string,
  targets: string,
  rows: number,
  dtype: ComputeDtype = "float32",
): string {
  if (arch.tiedHead) throw new Error("a tied head is the embedding table: it is not read in chunks");
  const normed = rmsNorm(g, h, weight(FINAL_NORM), arch.normEps, arch.normOnePlusWeight);
  const lastAxis = g.int64s([2]);
  const target = g.node("Unsqueeze", [targets, lastAxis]);
  const zero = g.constant("int64", [], [0n]);
  const lses: string[] = [];
  const picked: string[] = [];
  for (const { from, to } of headChunks(arch.vocabSize, rows)) {
    const w = weightRows(LM_HEAD, from, to);
    const raw = computeMatMul(g, dtype, normed, g.node("Transpose", [w], { perm: [1, 0] }), true);
    const z = arch.finalSoftcap === null ? raw : softcap(g, raw, arch.finalSoftcap);
    lses.push(g.node("ReduceLogSumExp", [z, lastAxis], { keepdims: 1 }));
    // the target's logit if it falls in this chunk, else 0 (the index clamped to a valid one, then masked)
    const local = g.node("Sub", [target, g.constant("int64", [], [BigInt(from)])]);
    const inChunk = g.node("And", [
      g.node("GreaterOrEqual", [local, zero]),
      g.node("Less", [local, g.constant("int64", [], [BigInt(to - from)])]),
    ]);
    const at = g.node("GatherElements", [z, g.node("Where", [inChunk, local, zero])], { axis: 2 });
    picked.push(g.node("Where", [inChunk, at, g.scalar(0)]));
  }
  const lse =
    lses.length === 1
      ? lses[0]!
      : g.node("ReduceLogSumExp", [g.node("Concat", lses, { axis: 2 }), lastAxis], { keepdims: 1 });
  const targetLogit = picked.length === 1 ? picked[0]! : g.node("Sum", picked);
  return g.node("Squeeze", [g.node("Sub", [lse, targetLogit]), lastAxis]);
}
