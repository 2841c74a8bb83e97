// The peak resident memory of a run, estimated before anything is loaded, for the two ways a model can run:
// whole (one ONNX Runtime session holding every weight) or streamed (one block's weights at a time, read from
// the safetensors into one reused buffer). Weights count by compute dtype (a half dtype holds its matrices in 2
// bytes, ../models/precision.ts); activations are float32. All sizes in bytes.
import type { ModelConfig } from "@shortened/hf";
import { usesCpuArena } from "../graph/session-purpose.js";
import { architectureOf } from "../models/architecture.js";
import { type ComputeDtype, heldInComputeDtype } from "../models/precision.js";

/** Node, tsx, ONNX Runtime's library and thread pools, the tokenizer: measured ≈ 250–300 MB on this project's
 *  CLI before a model is opened. */
export const RUNTIME_BASELINE_BYTES = 320 * 2 ** 20;

/** Float32 copies of the weights a whole-model session holds at its peak: ONNX Runtime's own, plus the one it
 *  reads from while building it (see ../graph/session.ts: weights go to the session once, through a file). */
export const WHOLE_WEIGHT_COPIES = 1.15;

/** What a run does per forward call, and what it keeps between calls. */
export interface Workload {
  /** rows per forward call */
  batch: number;
  /** tokens per row and call */
  seqLen: number;
  /** what the head computes: per-token NLL, all logits, the last position's logits, or nothing */
  head: "nll" | "logits" | "last" | "none";
  /** float32 [rows, seqLen, hidden] states kept by the caller at once (e.g. the PPL criterion's L+1) */
  keptStates?: number;
  /** rows whose kept states are held (default batch) */
  keptRows?: number;
  /** cached tokens per row (prompt + generated): the KV cache of every block */
  kvTokens?: number;
  /** a gradient graph (Taylor+): every block's intermediates stay for the backward pass, and each weight
   *  gets a gradient (in the weight's dtype) */
  backward?: boolean;
  /** the compute dtype (default float32): the size of the weights the session holds */
  dtype?: ComputeDtype;
  /** calls of different shapes (zero-shot's batches, each padded to its own length): see arenaCopies */
  shapesVary?: boolean;
}

export interface MemoryEstimate {
  total: number;
  weights: number;
  /** a half dtype: the float32 widenings of ONNX Runtime's CPU float16 MatMul (halfWideningBytes) */
  widening: number;
  activations: number;
  /** streamed Taylor+: the gradient pass's transients at its peak (streamedBackwardParts, backwardPeak) */
  backward: number;
  kvCache: number;
  keptStates: number;
  runtime: number;
}

const F32 = 4;

export function float32WeightBytes(c: ModelConfig): { total: number; block: number; embedding: number } {
  return weightBytes(c, "float32");
}

/** Bytes of the weights held in a compute dtype: matrices in it, vectors (norms, biases) in float32. */
export function weightBytes(
  c: ModelConfig,
  dtype: ComputeDtype = "float32",
): { total: number; block: number; embedding: number } {
  const a = architectureOf(c);
  const matrix = dtype === "float32" ? F32 : 2;
  const size = (shape: readonly number[]) =>
    shape.reduce((x, y) => x * y, 1) * (heldInComputeDtype(shape) ? matrix : F32);
  const block = a.blockTensors.reduce((s, t) => s + size(t.shape), 0);
  const embedding = a.vocabSize * a.hiddenSize * matrix;
  const head = a.tiedHead ? 0 : embedding;
  return { total: embedding + head + a.numLayers * block + a.hiddenSize * F32, block, embedding };
}

/** Whether buffers this process frees stay in its heap: glibc's default, dynamic mmap threshold keeps freed blocks
 *  up to 32 MB. Not when MALLOC_MMAP_THRESHOLD_ is set (read by glibc when the process starts), as the CLI's bin
 *  sets it for a run under a memory budget (apps/cli/bin/malloc-env.js). */
export function heapKeepsFreedBuffers(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.MALLOC_MMAP_THRESHOLD_ === undefined;
}

/**
 * ONNX Runtime's CPU float16 MatMul widens its weight operand to float32 on every call (forward and backward), so a
 * half-dtype run holds, beyond its weights, the widest matrix one call widens (the head, or one chunk of it:
 * `headRows` rows), and where the heap keeps freed buffers, one block's matrices in float32 (the freed widenings).
 * Measured: importance ppl in float16 on the 1.1B model, default thresholds, peaked at 3.05 GB, 0.36 GB above the
 * estimate without this term (2026-12-04); the term adds 0.44 GB there. 0 for float32.
 */
export function halfWideningBytes(
  c: ModelConfig,
  dtype: ComputeDtype = "float32",
  headRows = c.vocabSize,
  heapKept = heapKeepsFreedBuffers(),
): number {
  if (dtype === "float32") return 0;
  const a = architectureOf(c);
  const elements = (t: { shape: readonly number[] }) => t.shape.reduce((x, y) => x * y, 1);
  const matrices = a.blockTensors.filter((t) => heldInComputeDtype(t.shape));
  const widest = Math.max(headRows * a.hiddenSize, ...matrices.map(elements));
  const kept = heapKept ? matrices.reduce((s, t) => s + elements(t), 0) : 0;
  return F32 * (widest + kept);
}

/** ONNX Runtime's arena for one call: the block's widest intermediates (attention scores, MLP, residuals) and
 *  the head's logits with their log-softmax. */
function activationBytes(c: ModelConfig, w: Workload, headRows: number): number {
  const a = architectureOf(c);
  const n = w.batch * w.seqLen;
  const keys = w.seqLen + (w.kvTokens ?? 0);
  const block =
    F32 * (8 * n * a.hiddenSize + 3 * w.batch * a.numHeads * w.seqLen * keys + 3 * n * a.intermediateSize);
  const headTokens = w.head === "last" ? w.batch : w.head === "none" ? 0 : n;
  const head = F32 * 3 * headTokens * headRows;
  return block + head;
}

function kvBytes(c: ModelConfig, w: Workload): number {
  const a = architectureOf(c);
  return w.kvTokens
    ? 2 * a.numLayers * w.batch * a.numKvHeads * a.headDim * (w.kvTokens + w.seqLen) * F32
    : 0;
}

function keptBytes(c: ModelConfig, w: Workload): number {
  return (w.keptStates ?? 0) * (w.keptRows ?? w.batch) * w.seqLen * c.hiddenSize * F32;
}

export function estimateWhole(c: ModelConfig, w: Workload): MemoryEstimate {
  const copies = WHOLE_WEIGHT_COPIES + (w.backward ? 1 : 0);
  const weights = Math.ceil(weightBytes(c, w.dtype).total * copies);
  const activations = activationBytes(c, w, c.vocabSize) * (w.backward ? c.numHiddenLayers : 1);
  const widening = halfWideningBytes(c, w.dtype, w.head === "none" ? 0 : c.vocabSize);
  return assemble(weights, activations, kvBytes(c, w), keptBytes(c, w), widening);
}

/** Rows of the head's weight one streamed head call reads: no more than a block's weights. */
export function headChunkRows(c: ModelConfig): number {
  const { block } = float32WeightBytes(c);
  return Math.max(1, Math.min(c.vocabSize, Math.floor(block / (c.hiddenSize * F32))));
}

/** glibc's largest mmap threshold on 64-bit: freed buffers up to this size stay in the heap (default thresholds) */
const HEAP_KEPT_MAX_BYTES = 32 * 2 ** 20;

/**
 * Streamed Taylor+'s gradient pass at its peak (./streamed-taylor.ts), beyond the resident weights, the kept
 * states and the activations: the larger of one head chunk's and one block's backward graph (both run without
 * ONNX Runtime's arena), plus what the forward sessions' arenas still hold. Each part is a multiple of the float32
 * size of the matrices concerned, set a little above what /proc/self/status showed when sampled through runs on 2
 * blocks of the 1.1B width and on the 7B (README "Peak memory under a budget", 2026-12-05):
 * - a head chunk, half dtype: the chunk's float16 gradient, the transposed copies its products read, the float32
 *   widenings of both products, and W ⊙ ∂L/∂W widened beside its absolute value: 3.6 × (measured 3.50, 3.53);
 *   float32: ∂L/∂W beside W ⊙ ∂L/∂W, then that beside its absolute value: 2.2 × (measured 2.13);
 * - a block: the same per matrix, one matrix after another: half dtype 1.7 × the block's matrices (measured 1.61,
 *   1.63), plus, where the heap keeps freed buffers (glibc's default thresholds), 3 float32 copies of each matrix
 *   up to 32 MB that the previous block left there (1.1B width: +108 MiB); float32 0.6 × (measured 0.52–0.57);
 * - where the forward sessions keep ONNX Runtime's arena (`forwardArenas`; streamed forward sessions have run
 *   without it since 2026-12-05 22:13, ../graph/session-purpose.ts), a half dtype's head transposed float16 chunk
 *   and the blocks' widenings, rounded up, stay for the rest of the run: 1 × the chunk (measured 0.92, 0.53).
 */
export function streamedBackwardParts(
  c: ModelConfig,
  dtype: ComputeDtype,
  headRows: number,
  heapKept = heapKeepsFreedBuffers(),
  forwardArenas = usesCpuArena("streamed-forward"),
): { headChunk: number; block: number; forwardArena: number } {
  const a = architectureOf(c);
  const elements = (t: { shape: readonly number[] }) => t.shape.reduce((x, y) => x * y, 1);
  const matrices = a.blockTensors.filter((t) => heldInComputeDtype(t.shape)).map((t) => F32 * elements(t));
  const blockMatrices = matrices.reduce((x, y) => x + y, 0);
  const chunk = F32 * headRows * a.hiddenSize;
  if (dtype === "float32")
    return { headChunk: Math.ceil(2.2 * chunk), block: Math.ceil(0.6 * blockMatrices), forwardArena: 0 };
  const small = matrices.filter((m) => m <= HEAP_KEPT_MAX_BYTES).reduce((x, y) => x + y, 0);
  return {
    headChunk: Math.ceil(3.6 * chunk),
    block: Math.ceil(1.7 * blockMatrices) + (heapKept ? 3 * small : 0),
    forwardArena: forwardArenas ? chunk : 0,
  };
}

/** The gradient pass's peak from its parts: the larger of a head chunk's and a block's backward, beside the
 *  forward's arenas. */
export function backwardPeak(p: { headChunk: number; block: number; forwardArena: number }): number {
  return Math.max(p.headChunk, p.block) + p.forwardArena;
}

/** How many times one call's intermediates (activations, float16 widenings) the streamed forward sessions hold.
 *  Where they keep ONNX Runtime's arena (../graph/session-purpose.ts) and calls change shape, the arena keeps
 *  each call's peak and grows again when a call of another shape finds it fragmented; its regions double as it
 *  extends, so it can reach twice one call's need. Measured: zero-shot on 2 blocks of the 1.1B width, 20 requests,
 *  streamed in 5 passes (float32) and 20 (float16): 695 and 844 MiB with the arena, 574 and 746 MiB without, against
 *  680 and 800 MiB estimated with one copy (README "Peak memory under a budget", 2026-12-05). */
function arenaCopies(w: Workload): number {
  return w.shapesVary && usesCpuArena("streamed-forward") ? 2 : 1;
}

/** Streamed: one buffer holds a block's weights in the compute dtype (a half dtype's matrices at 2 bytes) or a
 *  chunk of the head, plus 16 MB of read scratch; the states entering and leaving a block for the rows of a pass
 *  are kept. A backward workload (Taylor+) adds its gradient pass at its peak (backwardPeak). */
export function estimateStreamed(c: ModelConfig, w: Workload): MemoryEstimate {
  const rows = headChunkRows(c);
  const dtype = w.dtype ?? "float32";
  const block = weightBytes(c, dtype).block;
  const head = rows * c.hiddenSize * (dtype === "float32" ? F32 : 2);
  // a half dtype: the matrices' half buffer (or a head chunk) and the float32 vectors beside
  const f32 = float32WeightBytes(c).block;
  const vectors = f32 - 2 * (f32 - block);
  const held = dtype === "float32" ? Math.max(block, head) : Math.max(block - vectors, head) + vectors;
  const weights = held + 16 * 2 ** 20;
  // backward: the intermediates of the block being recomputed beside their gradients, and the gradient flowing
  // between blocks
  const passStates = (w.backward ? 4 : 2) * (w.keptRows ?? w.batch) * w.seqLen * c.hiddenSize * F32;
  const copies = arenaCopies(w);
  const activations = activationBytes(c, w, rows) * (w.backward ? 2 : 1) * copies + passStates;
  const widening = halfWideningBytes(c, w.dtype, w.head === "none" ? 0 : rows) * copies;
  // the gradient pass runs after the forward: it adds what its peak holds beyond the forward's widenings
  const backward = w.backward
    ? Math.max(0, backwardPeak(streamedBackwardParts(c, dtype, rows)) - widening)
    : 0;
  return assemble(weights, activations, kvBytes(c, w), keptBytes(c, w), widening, backward);
}

function assemble(
  weights: number,
  activations: number,
  kvCache: number,
  keptStates: number,
  widening = 0,
  backward = 0,
): MemoryEstimate {
  const runtime = RUNTIME_BASELINE_BYTES;
  return {
    total: weights + widening + activations + backward + kvCache + keptStates + runtime,
    weights,
    widening,
    activations,
    backward,
    kvCache,
    keptStates,
    runtime,
  };
}
