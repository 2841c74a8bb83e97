// Forward + backward of one micro-batch: the model graph with trainable tensors as graph inputs (frozen
// weights stay initializers inside ONNX Runtime), the summed NLL of the valid targets as the objective, and
// its gradient with respect to every trainable tensor. Dividing by the step's target count happens in the
// optimizer graph, so micro-batches simply add their gradient sums.
import type { Checkpoint } from "@shortened/hf";
import { grad } from "../autodiff/grad.js";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";
import { buildForwardGraph, type WeightHooks } from "../models/forward-graph.js";
import type { MicroBatch } from "./data.js";
import { kdSum } from "./distill.js";
import type { TeacherTargets } from "./teacher-targets.js";

export interface TrainableTensor {
  name: string;
  dims: number[];
}

export interface GradSessionSpec {
  ckpt: Checkpoint;
  trainable: TrainableTensor[];
  /** weight hooks for the forward graph; `input(name)` is the graph input of a trainable tensor */
  hooks: (g: GraphBuilder, input: (name: string) => string) => WeightHooks;
  /** nn.Embedding(padding_idx): the pad row gets no gradient through the lookup (CPT of a model with a pad id) */
  padRowNoLookupGrad?: { embedding: string; padId: number };
  /** distillation: the objective becomes alpha·τ²·ΣKL + (1 − alpha)·ΣNLL (terms with weight 0 left out, so
   *  alpha 0 is CPT's graph exactly), and the session also reports ΣKL */
  kd?: { alpha: number; temperature: number; topK: number | null };
  /** more graph inputs that `hooks` may read through `input(name)`, fed per micro-batch (LoRA dropout masks) */
  extraInputs?: { name: string; type: "bool"; dims: (number | string)[] }[];
}

export interface GradResult {
  nllSum: number;
  /** Σ_t KL_t over the valid targets (distillation only) */
  kdSum?: number;
}

export class GradSession {
  private constructor(
    readonly trainable: TrainableTensor[],
    private readonly session: ort.InferenceSession,
    private readonly layers: number,
    private readonly kd: boolean,
  ) {}

  static async create(spec: GradSessionSpec, opts: SessionOptions = {}): Promise<GradSession> {
    const c = spec.ckpt.config;
    const g = new GraphBuilder();
    const inputs = new Map<string, string>();
    for (const t of spec.trainable) inputs.set(t.name, g.input(t.name, "float32", t.dims));
    for (const x of spec.extraInputs ?? []) inputs.set(x.name, g.input(x.name, x.type, x.dims));
    const input = (name: string) => {
      const v = inputs.get(name);
      if (!v) throw new Error(`${name} is not a trainable tensor or extra input`);
      return v;
    };
    const fg = buildForwardGraph(c, { graph: g, ...spec.hooks(g, input), nll: true, logits: !!spec.kd });
    const stop: string[] = [];
    if (spec.padRowNoLookupGrad) stop.push(detachPadRow(g, fg.inputs.ids!, spec.padRowNoLookupGrad));
    const mask = g.input("target_mask", "float32", ["batch", "seq"]);
    const nllSum = g.node("ReduceSum", [g.node("Mul", [fg.outputs.nll!, mask])], { keepdims: 0 });
    let objective = nllSum;
    let kl: string | undefined;
    if (spec.kd) {
      const { alpha, temperature, topK } = spec.kd;
      kl = kdSum(g, fg.outputs.logits!, mask, temperature, topK, c.vocabSize);
      const terms: string[] = [];
      const kdWeight = alpha * temperature * temperature;
      if (kdWeight !== 0) terms.push(kdWeight === 1 ? kl : g.node("Mul", [kl, g.scalar(kdWeight)]));
      if (alpha !== 1) terms.push(alpha === 0 ? nllSum : g.node("Mul", [nllSum, g.scalar(1 - alpha)]));
      objective = terms.length === 1 ? terms[0]! : g.node("Add", terms);
    }
    const grads = grad(
      g,
      objective,
      spec.trainable.map((t) => t.name),
      { stop },
    );
    g.output(g.rename(nllSum, "nll_sum"), "float32", []);
    if (kl) g.output(g.rename(kl, "kd_sum"), "float32", []);
    spec.trainable.forEach((t, i) => {
      g.output(g.rename(grads[i]!, `grad:${t.name}`), "float32", t.dims);
    });
    const session = await createSession(g, opts);
    g.initializers.clear();
    return new GradSession(spec.trainable, session, c.numHiddenLayers, !!spec.kd);
  }

  /**
   * Forward + backward of one micro-batch. The gradients are written into `into`'s arrays (one per trainable
   * tensor, reused step after step): ONNX Runtime fills them in place, so no gradient buffer of its own and no
   * JavaScript copy of it exist beside them (for CPT that is 8 of the bytes per parameter).
   */
  async run(
    mb: MicroBatch,
    params: Map<string, Float32Array>,
    into: Map<string, Float32Array>,
    teacher?: TeacherTargets,
    extra: Record<string, ort.Tensor> = {},
  ): Promise<GradResult> {
    const dims = [mb.batch, mb.seqLen];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", mb.ids, dims),
      targets: new ort.Tensor("int64", mb.targets, dims),
      target_mask: new ort.Tensor("float32", mb.mask, dims),
      gates: new ort.Tensor("float32", new Float32Array(this.layers).fill(1), [this.layers]),
      ...extra,
    };
    for (const t of this.trainable) feeds[t.name] = new ort.Tensor("float32", params.get(t.name)!, t.dims);
    if (this.kd) {
      if (!teacher) throw new Error("a distillation session needs the teacher's targets");
      const kdDims = [mb.batch, mb.seqLen, teacher.k];
      feeds.kd_logp = new ort.Tensor("float32", teacher.logp, kdDims);
      if (teacher.ids) feeds.kd_ids = new ort.Tensor("int64", teacher.ids, kdDims);
    }
    const fetches: Record<string, ort.Tensor | null> = { nll_sum: null };
    if (this.kd) fetches.kd_sum = null;
    for (const t of this.trainable)
      fetches[`grad:${t.name}`] = new ort.Tensor("float32", into.get(t.name)!, t.dims);
    const out = await this.session.run(feeds, fetches);
    return {
      nllSum: (out.nll_sum!.data as Float32Array)[0]!,
      kdSum: this.kd ? (out.kd_sum!.data as Float32Array)[0]! : undefined,
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Makes the embedding lookup read Where(row == pad, detached E, E), so the pad row's lookup gradient is
 * dropped while a tied head still trains that row. The new nodes read only graph inputs and constants, so
 * they go to the front of the node list; returns the detached value for grad's `stop` list.
 */
function detachPadRow(g: GraphBuilder, ids: string, pad: { embedding: string; padId: number }): string {
  const lookup = g.nodes.find(
    (n) => n.opType === "Gather" && n.inputs[0] === pad.embedding && n.inputs[1] === ids,
  );
  if (!lookup) throw new Error("embedding lookup not found in the forward graph");
  const mark = g.nodes.length;
  const detached = g.node("Identity", [pad.embedding]);
  const rows = g.node("Shape", [pad.embedding], { start: 0, end: 1 });
  const rowIds = g.node("Range", [
    g.constant("int64", [], [0n]),
    g.node("Squeeze", [rows]),
    g.constant("int64", [], [1n]),
  ]);
  const isPad = g.node("Unsqueeze", [
    g.node("Equal", [rowIds, g.constant("int64", [], [BigInt(pad.padId)])]),
    g.int64s([1]),
  ]);
  const table = g.node("Where", [isPad, detached, pad.embedding]);
  const added = g.nodes.splice(mark);
  g.nodes.unshift(...added);
  lookup.inputs[0] = table;
  return detached;
}
