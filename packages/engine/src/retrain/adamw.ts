// The optimizer step: gradient scaling (1 / the step's valid targets), global-norm clipping as
// torch.nn.utils.clip_grad_norm_, then torch.optim.AdamW (decoupled decay, bias-corrected moments).
//   g ← g_sum · scale;  n = ‖g‖₂ over all tensors;  g ← g · min(1, c / (n + 1e-6))   (c > 0)
//   p ← p · (1 − lr·wd);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//   p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
// Two passes, in place, both by a WebAssembly SIMD kernel (adamw-simd.ts): the norm (float64, eight interleaved
// partial sums in a fixed order: deterministic, within float64 rounding of the one-chain sum, a quarter of its
// time), then the update of each tensor, whose float32 operations are those of the ONNX graph this replaced, in
// its order, so the bits are those of ONNX Runtime's float32 op-by-op update. Parameters, moments and
// gradients are updated where they lie: the optimizer adds 320 KB to the 16 bytes per parameter they take.
// Why not that graph: a dozen elementwise ops over the whole model, each a pass over memory, and the outputs
// copied back into JavaScript took half of a CPT step's CPU time on the 100M model (5 of 10.7 s). Why not
// JavaScript: it computes in float64, so rounding every operation to float32 (Math.fround) costs two
// conversions each, one element at a time: 15 ns per parameter against the kernel's 3 (README "Training speed").
// Why one thread: worker threads could share the arrays only as SharedArrayBuffers, which onnxruntime-node
// refuses as feeds and as preallocated outputs ("Invalid argument"), and the kernel leaves little to split.
import { AdamWKernel } from "./adamw-simd.js";

const f32 = Math.fround;

export const BETA1 = 0.9;
export const BETA2 = 0.999;
export const ADAM_EPS = 1e-8;

export interface OptimizedTensor {
  name: string;
  dims: number[];
  /** weight decay applies (false for biases and norms in CPT) */
  decay: boolean;
}

export interface AdamWState {
  params: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export interface StepScalars {
  /** 1 / valid targets of the step */
  gradScale: number;
  lr: number;
  weightDecay: number;
  /** 1-based optimizer step count t */
  t: number;
}

export class AdamW {
  private readonly kernel = new AdamWKernel({ beta1: BETA1, beta2: BETA2, eps: ADAM_EPS });

  constructor(
    private readonly tensors: OptimizedTensor[],
    private readonly maxGradNorm: number,
  ) {}

  /** One update in place of `state`; returns the pre-clip global gradient norm. */
  step(state: AdamWState, gradSums: Map<string, Float32Array>, s: StepScalars): number {
    const sumsq = this.kernel.sumOfSquares(this.tensors.map((t) => gradSums.get(t.name)!));
    const norm = s.gradScale * Math.sqrt(sumsq);
    const clip = this.maxGradNorm > 0 ? Math.min(1, this.maxGradNorm / (norm + 1e-6)) : 1;
    const coef = f32(s.gradScale * clip);
    const stepSize = f32(s.lr / (1 - BETA1 ** s.t));
    const bc2Sqrt = f32(Math.sqrt(1 - BETA2 ** s.t));
    const decayed = f32(1 - s.lr * s.weightDecay);
    for (const t of this.tensors) {
      const [p, g, m, v] = [state.params, gradSums, state.m, state.v].map((x) => x.get(t.name)!);
      this.kernel.update(p!, g!, m!, v!, { coef, decay: t.decay ? decayed : 1, stepSize, bc2Sqrt });
    }
    return norm;
  }
}
