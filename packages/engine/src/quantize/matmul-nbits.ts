// A GPTQ linear as ONNX Runtime's `com.microsoft::MatMulNBits` (CPU and CUDA providers; 2, 4 and 8 bits).
// MatMulNBits takes B as [N, K/block, block·bits/8] bytes (codes of consecutive inputs, low bits first), scales
// [N, K/block] and zero points [N, ⌈(K/block)·bits/8⌉] packed the same way, so its groups are blocks of
// consecutive inputs. A GPTQ checkpoint with act-order and no static groups has a g_idx that is not monotonic:
// the input channels are reordered to make every group contiguous (x[..., perm] by a Gather on the activations,
// perm = the inputs sorted by group, stable), and B is built in that order, which is exact. A group of G inputs
// that is not a power of two ≥ 16 is split into equal blocks that share its scale and zero. Where MatMulNBits
// cannot hold the linear (3 bits, a v1 zero of 2^bits, irregular groups), the caller falls back to the
// dequantized float weight (exact as well).
import type { GptqLinear } from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";

/** MatMulNBits' accuracy_level: 0 (default) computes in the activations' type, exact against the dequantized
 *  float MatMul; 4 quantizes activations to int8 per block (faster for batches, ~0.5 % error). */
export type AccuracyLevel = 0 | 1 | 2 | 3 | 4;

export interface NBitsPlan {
  /** the inputs in MatMulNBits order (null: identity) */
  perm: Int32Array | null;
  block: number;
  /** group of each block, in MatMulNBits order */
  blockGroup: Int32Array;
}

/** How a linear with this g_idx maps onto MatMulNBits, or why it cannot. */
export function planNBits(
  bits: number,
  gIdx: Int32Array,
  groups: number,
  zeros: Uint8Array | null,
): NBitsPlan | { unsupported: string } {
  if (bits !== 2 && bits !== 4 && bits !== 8) return { unsupported: `${bits}-bit weights` };
  if (zeros?.some((z) => z > (1 << bits) - 1))
    return { unsupported: `a zero point of ${1 << bits} (an asymmetric zero of 0 in the v1 format)` };
  const K = gIdx.length;
  // stable sort of the inputs by group
  const counts = new Int32Array(groups);
  for (const g of gIdx) counts[g]!++;
  const size = counts[0]!;
  if (!counts.every((c, g) => c === size || (g === groups - 1 && c > 0 && c <= size)))
    return { unsupported: "groups of unequal sizes" };
  let sequential = true;
  for (let i = 0; i < K; i++) if (gIdx[i] !== Math.floor(i / size)) sequential = false;
  let perm: Int32Array | null = null;
  if (!sequential) {
    perm = new Int32Array(K);
    const next = new Int32Array(groups);
    for (let g = 1; g < groups; g++) next[g] = next[g - 1]! + counts[g - 1]!;
    for (let i = 0; i < K; i++) perm[next[gIdx[i]!]!++] = i;
  }
  let block = 256;
  while (block >= 16 && (size % block !== 0 || K % block !== 0)) block /= 2;
  if (block < 16)
    return { unsupported: `groups of ${size} inputs (no power-of-two block ≥ 16 divides them)` };
  const blocks = K / block;
  const blockGroup = new Int32Array(blocks);
  for (let kb = 0; kb < blocks; kb++) blockGroup[kb] = gIdx[perm ? perm[kb * block]! : kb * block]!;
  return { perm, block, blockGroup };
}

/** MatMulNBits' initializers for a linear under `plan`: B, scales, zero points. */
export function nbitsTensors(
  q: GptqLinear,
  plan: NBitsPlan,
): { b: Uint8Array; scales: Float32Array; zeros: Uint8Array } {
  const { inFeatures: K, outFeatures: N, bits, codes } = q;
  const perBlock = (plan.block * bits) / 8;
  const blocks = K / plan.block;
  const perByte = 8 / bits;
  const b = new Uint8Array(N * blocks * perBlock);
  for (let j = 0; j < K; j++) {
    const src = plan.perm ? plan.perm[j]! : j;
    const byte = Math.floor(j / perByte);
    const shift = (j % perByte) * bits;
    // rows of B are outputs; the input j of row n is byte j/perByte of that row (blocks are contiguous)
    for (let n = 0; n < N; n++) b[n * blocks * perBlock + byte]! |= codes[src * N + n]! << shift;
  }
  const zBytes = Math.ceil((blocks * bits) / 8);
  const scales = new Float32Array(N * blocks);
  const zeros = new Uint8Array(N * zBytes);
  for (let n = 0; n < N; n++)
    for (let kb = 0; kb < blocks; kb++) {
      const g = plan.blockGroup[kb]!;
      scales[n * blocks + kb] = q.scales[g * N + n]!;
      zeros[n * zBytes + Math.floor(kb / perByte)]! |= q.zeros[g * N + n]! << ((kb % perByte) * bits);
    }
  return { b, scales, zeros };
}

/** y = x Wᵀ for the GPTQ linear `name`, its tensors made when the graph is serialized (`read` supplies the
 *  unpacked linear then; the three initializers are written one after another, so it is read once). `gather`
 *  reorders x's last axis (shared by linears with the same input and order, e.g. q, k and v). */
export function matMulNBits(
  g: GraphBuilder,
  x: string,
  name: string,
  shape: { K: number; N: number; bits: number },
  plan: NBitsPlan,
  read: () => GptqLinear,
  accuracyLevel: AccuracyLevel,
  gather: (x: string, perm: Int32Array) => string,
): string {
  const { K, N, bits } = shape;
  const blocks = K / plan.block;
  let made: ReturnType<typeof nbitsTensors> | null = null;
  let taken = 0;
  const part =
    <T extends keyof ReturnType<typeof nbitsTensors>>(key: T) =>
    () => {
      made ??= nbitsTensors(read(), plan);
      const out = made[key];
      if (++taken === 3) made = null;
      return out;
    };
  const B = g.initializer(`${name}.nbits_b`, {
    type: "uint8",
    dims: [N, blocks, (plan.block * bits) / 8],
    data: new Uint8Array(0),
    read: part("b"),
  });
  const S = g.initializer(`${name}.nbits_scales`, {
    type: "float32",
    dims: [N * blocks],
    data: new Float32Array(0),
    read: part("scales"),
  });
  const Z = g.initializer(`${name}.nbits_zeros`, {
    type: "uint8",
    dims: [N * Math.ceil((blocks * bits) / 8)],
    data: new Uint8Array(0),
    read: part("zeros"),
  });
  const input = plan.perm ? gather(x, plan.perm) : x;
  return g.node(
    "MatMulNBits",
    [input, B, S, Z],
    { K, N, bits, block_size: plan.block, accuracy_level: accuracyLevel },
    "com.microsoft",
  );
}
