// The optimizer step: gradient scaling (1 / the step's valid targets), global-norm clipping as
// torch.nn.utils.clip_grad_norm_, then torch.optim.AdamW (decoupled decay, bias-corrected moments).
//   g ← g_sum · scale;  n = ‖g‖₂ over all tensors;  g ← g · min(1, c / (n + 1e-6))   (c > 0)
//   p ← p · (1 − lr·wd);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//   p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
// The update is one small ONNX graph over a flat slice of a tensor, run slice after slice, and its results are
// copied back into the state's arrays: parameters, moments and gradients are updated in place, so the
// optimizer adds only a slice's worth of memory on top of the 16 bytes per parameter they take (for CPT of a
// large model this is the difference between fitting and not).
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";

export const BETA1 = 0.9;
export const BETA2 = 0.999;
export const ADAM_EPS = 1e-8;

/** Elements per update call: 4M float32 = 16 MB per array; a call's outputs take 48 MB. */
export const ADAMW_SLICE = 4 * 2 ** 20;

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
  private constructor(
    private readonly tensors: OptimizedTensor[],
    private readonly maxGradNorm: number,
    private readonly session: ort.InferenceSession,
    private readonly slice: number,
  ) {}

  static async create(
    tensors: OptimizedTensor[],
    maxGradNorm: number,
    opts: SessionOptions = {},
    slice = ADAMW_SLICE,
  ): Promise<AdamW> {
    const g = new GraphBuilder();
    const scalar = (name: string) => g.input(name, "float32", []);
    const coef = scalar("grad_coef"); // scale · clip coefficient
    const decay = scalar("decay"); // 1 − lr·wd, or 1 where the tensor takes no decay
    const stepSize = scalar("step_size"); // lr / (1 − β₁ᵗ)
    const bc2Sqrt = scalar("bc2_sqrt"); // √(1 − β₂ᵗ)
    const vec = (name: string) => g.input(name, "float32", ["n"]);
    const [p, gs, m, v] = [vec("param"), vec("grad"), vec("m"), vec("v")];
    const gi = g.node("Mul", [gs, coef]);
    const m2 = g.node("Add", [g.node("Mul", [m, g.scalar(BETA1)]), g.node("Mul", [gi, g.scalar(1 - BETA1)])]);
    const v2 = g.node("Add", [
      g.node("Mul", [v, g.scalar(BETA2)]),
      g.node("Mul", [g.node("Mul", [gi, gi]), g.scalar(1 - BETA2)]),
    ]);
    const denom = g.node("Add", [g.node("Div", [g.node("Sqrt", [v2]), bc2Sqrt]), g.scalar(ADAM_EPS)]);
    const p2 = g.node("Sub", [
      g.node("Mul", [p, decay]),
      g.node("Mul", [stepSize, g.node("Div", [m2, denom])]),
    ]);
    g.output(g.rename(p2, "new_param"), "float32", ["n"]);
    g.output(g.rename(m2, "new_m"), "float32", ["n"]);
    g.output(g.rename(v2, "new_v"), "float32", ["n"]);
    return new AdamW(tensors, maxGradNorm, await createSession(g, opts), slice);
  }

  /** One update in place of `state`; returns the pre-clip global gradient norm. */
  async step(state: AdamWState, gradSums: Map<string, Float32Array>, s: StepScalars): Promise<number> {
    let sumsq = 0;
    for (const t of this.tensors) for (const x of gradSums.get(t.name)!) sumsq += x * x;
    const norm = s.gradScale * Math.sqrt(sumsq);
    const clip = this.maxGradNorm > 0 ? Math.min(1, this.maxGradNorm / (norm + 1e-6)) : 1;
    const f = (x: number) => new ort.Tensor("float32", Float32Array.of(x), []);
    const scalars = {
      grad_coef: f(s.gradScale * clip),
      step_size: f(s.lr / (1 - BETA1 ** s.t)),
      bc2_sqrt: f(Math.sqrt(1 - BETA2 ** s.t)),
    };
    const decayed = f(1 - s.lr * s.weightDecay);
    const kept = f(1);
    for (const t of this.tensors) {
      const arrays = [state.params, gradSums, state.m, state.v].map((x) => x.get(t.name)!);
      const [p, , m, v] = arrays as [Float32Array, Float32Array, Float32Array, Float32Array];
      for (let at = 0; at < p.length; at += this.slice) {
        const n = Math.min(this.slice, p.length - at);
        const [param, grad, mm, vv] = arrays.map(
          (x) => new ort.Tensor("float32", x.subarray(at, at + n), [n]),
        );
        const out = await this.session.run({
          ...scalars,
          decay: t.decay ? decayed : kept,
          param: param!,
          grad: grad!,
          m: mm!,
          v: vv!,
        });
        p.set(out.new_param!.data as Float32Array, at);
        m.set(out.new_m!.data as Float32Array, at);
        v.set(out.new_v!.data as Float32Array, at);
      }
    }
    return norm;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
