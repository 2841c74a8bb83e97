// The peak resident memory of a run, estimated before anything is loaded, for the two ways a model can run:
// whole (one ONNX Runtime session holding every weight) or streamed (one block's weights at a time, read from
// the safetensors into one reused buffer). Weights count by compute dtype (a half dtype holds its matrices in 2
// bytes, ../models/precision.ts); activations are float32. All sizes in bytes.
import type { ModelConfig } from "@shortened/hf";
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
}

export interface MemoryEstimate {
  total: number;
  weights: number;
  /** a half dtype: the float32 widenings of ONNX Runtime's CPU float16 MatMul (halfWideningBytes) */
  widening: number;
  activations: number;
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

/** Streamed: one buffer holds a block's weights in the compute dtype (a half dtype's matrices at 2 bytes) or a
 *  chunk of the head, plus 16 MB of read scratch; the states entering and leaving a block for the rows of a pass
 *  are kept. */
export function estimateStreamed(c: ModelConfig, w: Workload): MemoryEstimate {
  const rows = headChunkRows(c);
  const dtype = w.dtype ?? "float32";
  const block = weightBytes(c, dtype).block;
  const head = rows * c.hiddenSize * (dtype === "float32" ? F32 : 2);
  // a half dtype: the matrices' half buffer (or a head chunk) and the float32 vectors beside
  const f32 = float32WeightBytes(c).block;
  const vectors = f32 - 2 * (f32 - block);
  const held = dtype === "float32" ? Math.max(block, head) : Math.max(block - vectors, head) + vectors;
  // backward (Taylor+, one block at a time): the block's weight gradients (in the weights' dtype), its
  // intermediates kept for the backward pass beside their gradients, and the gradient flowing between blocks
  const weights = held + 16 * 2 ** 20 + (w.backward ? block : 0);
  const passStates = (w.backward ? 4 : 2) * (w.keptRows ?? w.batch) * w.seqLen * c.hiddenSize * F32;
  const activations = activationBytes(c, w, rows) * (w.backward ? 2 : 1) + passStates;
  const widening = halfWideningBytes(c, w.dtype, w.head === "none" ? 0 : rows);
  return assemble(weights, activations, kvBytes(c, w), keptBytes(c, w), widening);
}

function assemble(
  weights: number,
  activations: number,
  kvCache: number,
  keptStates: number,
  widening = 0,
): MemoryEstimate {
  const runtime = RUNTIME_BASELINE_BYTES;
  return {
    total: weights + widening + activations + kvCache + keptStates + runtime,
    weights,
    widening,
    activations,
    kvCache,
    keptStates,
    runtime,
  };
}
