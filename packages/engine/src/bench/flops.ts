// Multiply-add count (×2 = FLOPs) of a generation with the KV cache: a prefill over the prompt, then
// one decode step per further token. Counts the matrix products (projections, attention scores and mixing,
// the LM head on the last position); norms, RoPE, activations and softmax are left out (a few percent at most).
import { groupCount, type ModelConfig } from "@shortened/hf";
import { weightBytes } from "../execution/estimate.js";
import type { ComputeDtype } from "../models/precision.js";

/** Weights of one block's linear layers (the multiply-adds per token). */
export function blockLinearParams(c: ModelConfig): number {
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  return c.hiddenSize * (q + 2 * kv) + q * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize;
}

/** FLOPs of one forward over `batch` rows of `seqLen` tokens with the head on every position (perplexity,
 *  training): scores and mixing over the full T×T, as the graphs compute them before the causal mask. */
export function forwardFlops(c: ModelConfig, batch: number, seqLen: number): number {
  const attnWidth = c.numAttentionHeads * c.headDim;
  const perRow =
    c.numHiddenLayers * (seqLen * blockLinearParams(c) + 2 * attnWidth * seqLen * seqLen) +
    seqLen * c.hiddenSize * c.vocabSize;
  return 2 * batch * perRow;
}

/** FLOPs of generating `outputLen` tokens after `inputLen` prompt tokens, for `batch` rows. */
export function generationFlops(c: ModelConfig, batch: number, inputLen: number, outputLen: number): number {
  const lin = blockLinearParams(c);
  const attnWidth = c.numAttentionHeads * c.headDim;
  const head = c.hiddenSize * c.vocabSize;
  const L = c.numHiddenLayers;
  // prefill: T tokens through every block; scores and mixing over the full T×T (the mask is applied after)
  let macs = L * (inputLen * lin + 2 * attnWidth * inputLen * inputLen) + head;
  // decode step s reads the token at position inputLen + s − 1 against inputLen + s cached keys
  for (let s = 1; s < outputLen; s++) macs += L * (lin + 2 * attnWidth * (inputLen + s)) + head;
  return 2 * batch * macs;
}

/** Parameters the session holds (float32): blocks, embedding, final norm, and the head when untied. */
export function parameterCount(c: ModelConfig): number {
  const block = blockLinearParams(c) + 2 * c.hiddenSize;
  const embed = c.vocabSize * c.hiddenSize;
  return c.numHiddenLayers * block + embed + c.hiddenSize + (c.tieWordEmbeddings ? 0 : embed);
}

/** Bytes of a GPTQ model's block linears as packed (qweight, qzeros, float16 scales, g_idx), per block. */
export function packedLinearBytes(c: ModelConfig): number {
  const q = c.quantization;
  if (!q) return 0;
  const qDim = c.numAttentionHeads * c.headDim;
  const kvDim = c.numKeyValueHeads * c.headDim;
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const shapes: [number, number][] = [
    [qDim, H],
    [kvDim, H],
    [kvDim, H],
    [H, qDim],
    [I, H],
    [I, H],
    [H, I],
  ];
  let bytes = 0;
  for (const [out, inF] of shapes) {
    const G = groupCount(q, inF);
    bytes += (inF * out * q.bits) / 8 + (G * out * q.bits) / 8 + 2 * G * out + 4 * inF;
  }
  return bytes;
}

/** Bytes of the weights (float32, or in a half compute dtype its matrices at 2 bytes; a GPTQ model's block linears
 *  as packed) plus the float32 KV cache at the end of a generation (the device-independent part of memory). */
export function modelAndCacheBytes(
  c: ModelConfig,
  batch: number,
  seqLen: number,
  dtype: ComputeDtype = "float32",
): { weights: number; kvCache: number } {
  const quantized = c.quantization ? c.numHiddenLayers * blockLinearParams(c) : 0;
  const unquantized = dtype !== "float32" && !c.quantization ? weightBytes(c, dtype).total : null;
  return {
    weights: unquantized ?? 4 * (parameterCount(c) - quantized) + c.numHiddenLayers * packedLinearBytes(c),
    kvCache: 4 * 2 * c.numHiddenLayers * batch * c.numKeyValueHeads * seqLen * c.headDim,
  };
}
