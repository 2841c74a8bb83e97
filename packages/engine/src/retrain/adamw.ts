// The optimizer step as an ONNX graph: gradient scaling (1 / the step's valid targets), global-norm clipping
// as torch.nn.utils.clip_grad_norm_, then torch.optim.AdamW (decoupled decay, bias-corrected moments).
//   g ← g_sum · scale;  n = ‖g‖₂ over all tensors;  g ← g · min(1, c / (n + 1e-6))   (c > 0)
//   p ← p · (1 − lr·wd);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//   p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";

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
  private constructor(
    private readonly tensors: OptimizedTensor[],
    private readonly session: ort.InferenceSession,
  ) {}

  static async create(
    tensors: OptimizedTensor[],
    maxGradNorm: number,
    opts: SessionOptions = {},
  ): Promise<AdamW> {
    const g = new GraphBuilder();
    const scalar = (name: string) => g.input(name, "float32", []);
    const scale = scalar("grad_scale");
    const lr = scalar("lr");
    const wd = scalar("weight_decay");
    const stepSize = scalar("step_size"); // lr / (1 − β₁ᵗ)
    const bc2Sqrt = scalar("bc2_sqrt"); // √(1 − β₂ᵗ)
    const one = g.scalar(1);
    const grads = tensors.map((t) => g.node("Mul", [g.input(`grad:${t.name}`, "float32", t.dims), scale]));
    const squares = grads.map((x) => g.node("ReduceSumSquare", [x], { keepdims: 0 }));
    const norm = g.node("Sqrt", [squares.length > 1 ? g.node("Sum", squares) : squares[0]!]);
    g.output(g.rename(g.node("Identity", [norm]), "grad_norm"), "float32", []);
    let clipped = grads;
    if (maxGradNorm > 0) {
      const coef = g.node("Min", [
        one,
        g.node("Div", [g.scalar(maxGradNorm), g.node("Add", [norm, g.scalar(1e-6)])]),
      ]);
      clipped = grads.map((x) => g.node("Mul", [x, coef]));
    }
    const decayFactor = g.node("Sub", [one, g.node("Mul", [lr, wd])]);
    tensors.forEach((t, i) => {
      const p = g.input(`param:${t.name}`, "float32", t.dims);
      const m = g.input(`m:${t.name}`, "float32", t.dims);
      const v = g.input(`v:${t.name}`, "float32", t.dims);
      const gi = clipped[i]!;
      const pd = t.decay ? g.node("Mul", [p, decayFactor]) : p;
      const m2 = g.node("Add", [
        g.node("Mul", [m, g.scalar(BETA1)]),
        g.node("Mul", [gi, g.scalar(1 - BETA1)]),
      ]);
      const v2 = g.node("Add", [
        g.node("Mul", [v, g.scalar(BETA2)]),
        g.node("Mul", [g.node("Mul", [gi, gi]), g.scalar(1 - BETA2)]),
      ]);
      const denom = g.node("Add", [g.node("Div", [g.node("Sqrt", [v2]), bc2Sqrt]), g.scalar(ADAM_EPS)]);
      const p2 = g.node("Sub", [pd, g.node("Mul", [stepSize, g.node("Div", [m2, denom])])]);
      g.output(g.rename(p2, `new_param:${t.name}`), "float32", t.dims);
      g.output(g.rename(m2, `new_m:${t.name}`), "float32", t.dims);
      g.output(g.rename(v2, `new_v:${t.name}`), "float32", t.dims);
    });
    return new AdamW(tensors, await createSession(g, opts));
  }

  /** One update in place of `state`; returns the pre-clip global gradient norm. */
  async step(state: AdamWState, gradSums: Map<string, Float32Array>, s: StepScalars): Promise<number> {
    const f = (x: number) => new ort.Tensor("float32", Float32Array.of(x), []);
    const feeds: Record<string, ort.Tensor> = {
      grad_scale: f(s.gradScale),
      lr: f(s.lr),
      weight_decay: f(s.weightDecay),
      step_size: f(s.lr / (1 - BETA1 ** s.t)),
      bc2_sqrt: f(Math.sqrt(1 - BETA2 ** s.t)),
    };
    for (const t of this.tensors) {
      feeds[`grad:${t.name}`] = new ort.Tensor("float32", gradSums.get(t.name)!, t.dims);
      feeds[`param:${t.name}`] = new ort.Tensor("float32", state.params.get(t.name)!, t.dims);
      feeds[`m:${t.name}`] = new ort.Tensor("float32", state.m.get(t.name)!, t.dims);
      feeds[`v:${t.name}`] = new ort.Tensor("float32", state.v.get(t.name)!, t.dims);
    }
    const out = await this.session.run(feeds);
    for (const t of this.tensors) {
      state.params.set(t.name, out[`new_param:${t.name}`]!.data as Float32Array);
      state.m.set(t.name, out[`new_m:${t.name}`]!.data as Float32Array);
      state.v.set(t.name, out[`new_v:${t.name}`]!.data as Float32Array);
    }
    return (out.grad_norm!.data as Float32Array)[0]!;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
