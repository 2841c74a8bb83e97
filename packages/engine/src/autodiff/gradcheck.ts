// Checks a graph's appended gradients against central finite differences, in float64. Used by the rule
// tests: the function under test maps float64 inputs to one output, the loss is Σ y ⊙ R with a fixed
// random R (so every output element gets a different upstream gradient).
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort } from "../graph/session.js";
import { grad } from "./grad.js";
import { inferShapes } from "./shapes.js";

export interface CheckInput {
  shape: number[];
  /** Symbolic dims for the declared input shape (default: the concrete shape). */
  declared?: (number | string)[];
  /** "positive" draws from [0.5, 1.5] (for Log, Sqrt, Div); default uniform [-1, 1]. */
  range?: "positive" | "signed";
  /** Does not get a gradient (integer indices and the like are passed as extra feeds). */
  data?: number[];
}

export interface Extra {
  name: string;
  tensor: ort.Tensor;
  type: "int64" | "bool";
  declared: (number | string)[];
}

export interface CheckResult {
  maxAbsErr: number;
  maxRelErr: number;
  elements: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function gradCheck(
  inputs: CheckInput[],
  build: (g: GraphBuilder, xs: string[], extras: string[]) => string,
  extras: Extra[] = [],
  opts: { seed?: number; eps?: number } = {},
): Promise<CheckResult> {
  const seed = opts.seed ?? 7;
  const rand = rng(seed);
  const values = inputs.map((inp) => {
    const n = inp.shape.reduce((a, b) => a * b, 1);
    return Float64Array.from(
      inp.data ?? Array.from({ length: n }, () => (inp.range === "positive" ? 0.5 + rand() : 2 * rand() - 1)),
    );
  });
  const make = (g: GraphBuilder) => {
    const xs = inputs.map((inp, i) => g.input(`x${i}`, "float64", inp.declared ?? inp.shape));
    const es = extras.map((e) => g.input(e.name, e.type, e.declared));
    return { xs, y: build(g, xs, es) };
  };
  const feeds = (vals: Float64Array[]) => {
    const f: Record<string, ort.Tensor> = {};
    vals.forEach((v, i) => {
      f[`x${i}`] = new ort.Tensor("float64", v, inputs[i]!.shape);
    });
    for (const e of extras) f[e.name] = e.tensor;
    return f;
  };
  // Forward once to learn the output shape.
  const probe = new GraphBuilder();
  const p = make(probe);
  const rank = inferShapes(probe).shapes.get(p.y)?.length ?? 0;
  probe.output(
    probe.rename(p.y, "y"),
    "float64",
    Array.from({ length: rank }, (_, k) => `d${k}`),
  );
  const yT = (await (await createSession(probe)).run(feeds(values))).y!;
  const ySize = yT.data.length;

  const g = new GraphBuilder();
  const { xs, y } = make(g);
  const r = g.initializer("r", {
    type: "float64",
    dims: [...yT.dims],
    data: Float64Array.from({ length: ySize }, () => 2 * rand() - 1),
  });
  const loss = g.node("ReduceSum", [g.node("Mul", [y, r])], { keepdims: 0 });
  const grads = grad(g, loss, xs, { dtype: "float64" });
  g.output(g.rename(loss, "loss"), "float64", []);
  grads.forEach((gn, i) => {
    g.output(g.rename(gn, `g${i}`), "float64", inputs[i]!.shape);
  });
  const sess = await createSession(g);
  const out = await sess.run(feeds(values));
  const eps = opts.eps ?? 1e-6;
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let elements = 0;
  for (let i = 0; i < inputs.length; i++) {
    const analytic = out[`g${i}`]!.data as Float64Array;
    if (analytic.length !== values[i]!.length)
      throw new Error(`gradient ${i} has ${analytic.length} elements, input ${values[i]!.length}`);
    for (let j = 0; j < values[i]!.length; j++) {
      const plus = values.map((v) => Float64Array.from(v));
      const minus = values.map((v) => Float64Array.from(v));
      plus[i]![j]! += eps;
      minus[i]![j]! -= eps;
      const lp = (await sess.run(feeds(plus), ["loss"])).loss!.data[0] as number;
      const lm = (await sess.run(feeds(minus), ["loss"])).loss!.data[0] as number;
      const fd = (lp - lm) / (2 * eps);
      const err = Math.abs(fd - analytic[j]!);
      maxAbsErr = Math.max(maxAbsErr, err);
      maxRelErr = Math.max(maxRelErr, err / Math.max(1e-3, Math.abs(fd)));
      elements++;
    }
  }
  return { maxAbsErr, maxRelErr, elements };
}
