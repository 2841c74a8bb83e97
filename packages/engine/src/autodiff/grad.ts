// Reverse-mode differentiation at graph-build time: walks the forward nodes from the loss back to the
// requested values and appends, for each node on a path, the ONNX ops of its vector-Jacobian product.
// Nothing is differentiated at run time; ONNX Runtime just executes the longer graph.
import type { GraphBuilder } from "../graph/builder.js";
import { type FloatType, VjpContext, type VjpRule } from "./context.js";
import { elementwiseRules } from "./rules-elementwise.js";
import { indexRules } from "./rules-index.js";
import { linearRules } from "./rules-linear.js";
import { reduceRules } from "./rules-reduce.js";
import { shapeRules } from "./rules-shape.js";
import { inferShapes } from "./shapes.js";

export const vjpRules: Record<string, VjpRule> = {
  ...elementwiseRules,
  ...linearRules,
  ...reduceRules,
  ...shapeRules,
  ...indexRules,
};

/** Ops whose outputs carry no gradient (integers, booleans, shapes): dependence stops there. */
const NON_DIFFERENTIABLE = new Set([
  "Shape",
  "Size",
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "Not",
  "And",
  "Or",
  "Xor",
  "NonZero",
  "ArgMax",
  "ArgMin",
  "Range",
  "ConstantOfShape",
  "Constant",
  "OneHot",
  "Floor",
  "Ceil",
  "Round",
  "Sign",
  "IsNaN",
  "IsInf",
  "EyeLike",
  "RandomUniformLike",
  "RandomNormalLike",
  "Mod",
]);

export interface GradOptions {
  /** Float type of the loss and of every gradient (default float32). */
  dtype?: FloatType;
  /** Gradient of the loss itself (a value of the loss's shape); default the constant 1 (a scalar loss). */
  seed?: string;
  /** Values treated as constants: no gradient flows through them (stop-gradient). */
  stop?: string[];
}

/**
 * Appends the backward graph of `loss` with respect to `wrt` (graph inputs, initializers or intermediate
 * values) and returns the gradient value names, one per `wrt` entry, shaped like it.
 */
export function grad(g: GraphBuilder, loss: string, wrt: string[], opts: GradOptions = {}): string[] {
  const dtype = opts.dtype ?? "float32";
  const forwardNodes = g.nodes.slice();
  const forwardInitializers = new Set(g.initializers.keys());
  const { shapes, constants } = inferShapes(g);
  const ctx = new VjpContext(g, dtype, shapes, constants);

  // Values that depend on a wrt value, in forward order.
  const dependent = new Set(wrt);
  const stop = new Set(opts.stop ?? []);
  for (const n of forwardNodes) {
    if (NON_DIFFERENTIABLE.has(n.opType) || n.outputs.some((o) => stop.has(o))) continue;
    if (n.inputs.some((i) => dependent.has(i))) for (const o of n.outputs) dependent.add(o);
  }
  if (!dependent.has(loss)) throw new Error(`autodiff: ${loss} does not depend on any of ${wrt.join(", ")}`);
  // Values the loss depends on through dependent paths.
  const needed = new Set([loss]);
  const onPath: boolean[] = forwardNodes.map(() => false);
  for (let k = forwardNodes.length - 1; k >= 0; k--) {
    const n = forwardNodes[k]!;
    if (NON_DIFFERENTIABLE.has(n.opType) || !n.outputs.some((o) => needed.has(o))) continue;
    onPath[k] = true;
    for (const i of n.inputs) if (dependent.has(i)) needed.add(i);
  }

  const contributions = new Map<string, string[]>();
  const add = (v: string, gv: string) => {
    const list = contributions.get(v);
    if (list) list.push(gv);
    else contributions.set(v, [gv]);
  };
  const total = (v: string): string | undefined => {
    const list = contributions.get(v);
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) {
      const s = list.reduce((acc, x) => g.node("Add", [acc, x]));
      contributions.set(v, [s]);
      return s;
    }
    return list[0];
  };
  add(loss, opts.seed ?? ctx.scalar(1));

  for (let k = forwardNodes.length - 1; k >= 0; k--) {
    if (!onPath[k]) continue;
    const n = forwardNodes[k]!;
    const gys = n.outputs.map(total);
    if (gys.every((x) => x === undefined)) continue;
    const rule = vjpRules[n.opType];
    if (!rule || n.domain !== "")
      throw new Error(`autodiff: no VJP rule for ${n.domain ? `${n.domain}:` : ""}${n.opType}`);
    const needs = n.inputs.map((i) => i !== "" && needed.has(i));
    const gxs = rule(ctx, n, gys, needs);
    n.inputs.forEach((i, j) => {
      const gx = gxs[j];
      if (needs[j] && gx) add(i, gx);
    });
  }
  const grads = wrt.map((w) => total(w) ?? ctx.zerosLike(w));
  removeUnread(g, forwardNodes.length, forwardInitializers, grads);
  return grads;
}

/** Drops the backward's nodes (from index `from` on) and constants that nothing reads: a rule may take another's
 *  value apart (LogSoftmax reads the updates of GatherElements' scatter), and ONNX Runtime would still run the
 *  rest. */
function removeUnread(g: GraphBuilder, from: number, forwardInitializers: Set<string>, keep: string[]): void {
  const read = new Set<string>();
  for (let changed = true; changed; ) {
    read.clear();
    for (const v of keep) read.add(v);
    for (const n of g.nodes) for (const i of n.inputs) read.add(i);
    for (const o of g.outputs) read.add(o.name);
    const before = g.nodes.length;
    const tail = g.nodes.splice(from).filter((n) => n.outputs.some((o) => read.has(o)));
    g.nodes.push(...tail);
    changed = g.nodes.length !== before;
  }
  for (const name of [...g.initializers.keys()])
    if (!forwardInitializers.has(name) && !read.has(name)) g.initializers.delete(name);
}
