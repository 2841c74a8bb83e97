// The optimizer step: gradient scaling (1 / the step's valid targets), global-norm clipping as
// torch.nn.utils.clip_grad_norm_, then torch.optim.AdamW (decoupled decay, bias-corrected moments).
//   g ← g_sum · scale;  n = ‖g‖₂ over all tensors;  g ← g · min(1, c / (n + 1e-6))   (c > 0)
//   p ← p · (1 − lr·wd);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//   p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
// One pass per tensor in JavaScript, in place: parameters, moments and gradients are updated where they lie, so
// the optimizer adds no memory to the 16 bytes per parameter they take. Every operation is rounded to float32
// (Math.fround) in the order of the ONNX graph this replaces (a float64 result of two float32 operands rounds
// to the correctly rounded float32 result for + − × ÷ √), so the bits are those of ONNX Runtime's float32
// op-by-op update. Why not that graph: a dozen elementwise ops over the whole model, each a pass over memory,
// and the outputs copied back into JavaScript took half of a CPT step's CPU time on the 100M model (5 of 10.7 s).
const f32 = Math.fround;

export const BETA1 = 0.9;
export const BETA2 = 0.999;
export const ADAM_EPS = 1e-8;

// The constants as the graph held them (float32).
const B1 = f32(BETA1);
const ONE_MINUS_B1 = f32(1 - BETA1);
const B2 = f32(BETA2);
const ONE_MINUS_B2 = f32(1 - BETA2);
const EPS = f32(ADAM_EPS);

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
  constructor(
    private readonly tensors: OptimizedTensor[],
    private readonly maxGradNorm: number,
  ) {}

  /** One update in place of `state`; returns the pre-clip global gradient norm. */
  step(state: AdamWState, gradSums: Map<string, Float32Array>, s: StepScalars): number {
    let sumsq = 0;
    for (const t of this.tensors) {
      const g = gradSums.get(t.name)!;
      for (let i = 0; i < g.length; i++) sumsq += g[i]! * g[i]!;
    }
    const norm = s.gradScale * Math.sqrt(sumsq);
    const clip = this.maxGradNorm > 0 ? Math.min(1, this.maxGradNorm / (norm + 1e-6)) : 1;
    const coef = f32(s.gradScale * clip);
    const stepSize = f32(s.lr / (1 - BETA1 ** s.t));
    const bc2Sqrt = f32(Math.sqrt(1 - BETA2 ** s.t));
    const decayed = f32(1 - s.lr * s.weightDecay);
    for (const t of this.tensors) {
      update(state.params.get(t.name)!, gradSums.get(t.name)!, state.m.get(t.name)!, state.v.get(t.name)!, {
        coef,
        decay: t.decay ? decayed : 1,
        stepSize,
        bc2Sqrt,
      });
    }
    return norm;
  }
}

/** The update of one tensor, each operation rounded to float32 as the graph's nodes were. */
function update(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  k: { coef: number; decay: number; stepSize: number; bc2Sqrt: number },
): void {
  const { coef, decay, stepSize, bc2Sqrt } = k;
  for (let i = 0; i < p.length; i++) {
    const gi = f32(g[i]! * coef);
    const m2 = f32(f32(m[i]! * B1) + f32(gi * ONE_MINUS_B1));
    const v2 = f32(f32(v[i]! * B2) + f32(f32(gi * gi) * ONE_MINUS_B2));
    const denom = f32(f32(f32(Math.sqrt(v2)) / bc2Sqrt) + EPS);
    p[i] = f32(f32(p[i]! * decay) - f32(stepSize * f32(m2 / denom)));
    m[i] = m2;
    v[i] = v2;
  }
}
