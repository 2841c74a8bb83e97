// A checkpoint's forward graph loaded into an ONNX Runtime session, with typed feeds and fetches.
// The use cases (perplexity, importance, zero-shot) run batches through this; they never build graphs themselves.
import type { Checkpoint } from "@shortened/hf";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";
import type { QuantizedRunOptions } from "../quantize/gptq-matmul.js";
import { layerName } from "./architecture.js";
import { buildForwardGraph, type ForwardGraph, type ForwardGraphOptions } from "./forward-graph.js";
import { type ComputeDtype, toHalfBits } from "./precision.js";
import { shiftedTargets } from "./targets.js";
import { checkpointHooks, openCheckpoint } from "./weights.js";

/** The forward graph's shape options (see ForwardGraphOptions) plus the session's. */
export interface ForwardSessionOptions
  extends SessionOptions,
    QuantizedRunOptions,
    Pick<
      ForwardGraphOptions,
      | "blocks"
      | "input"
      | "blockWeights"
      | "nll"
      | "logits"
      | "hidden"
      | "hiddenOut"
      | "skipGatedBlocks"
      | "maxSeqLen"
      | "dtype"
    > {}

export interface ForwardFeed {
  batch: number;
  seqLen: number;
  /** token ids, row-major [batch, seqLen] (input "ids") */
  ids?: ArrayLike<number>;
  /** hidden state entering the graph's first block, [batch, seqLen, hidden] (input "hidden") */
  hiddenIn?: Float32Array;
  /** next-token targets [batch, seqLen]; required when the graph outputs nll */
  targets?: ArrayLike<number>;
  /** one gate per block of the graph (default all 1) */
  gates?: Float32Array;
  /** with block weights as inputs: the model block whose weights (read from the checkpoint) feed the graph's
   *  first block, the next one its second, … */
  weightsOfBlock?: number;
}

export interface ForwardResult {
  nll?: Float32Array;
  logits?: Float32Array;
  hidden?: Float32Array[];
  hiddenOut?: Float32Array;
}

export class ForwardSession {
  private constructor(
    readonly checkpoint: Checkpoint,
    readonly graph: ForwardGraph,
    readonly session: ort.InferenceSession,
  ) {}

  static async open(model: string | Checkpoint, opts: ForwardSessionOptions = {}): Promise<ForwardSession> {
    const ckpt = openCheckpoint(model);
    const g = new GraphBuilder();
    const fg = buildForwardGraph(ckpt.config, {
      graph: g,
      ...checkpointHooks(g, ckpt, opts),
      blocks: opts.blocks,
      input: opts.input,
      blockWeights: opts.blockWeights,
      nll: opts.nll,
      logits: opts.logits,
      hidden: opts.hidden,
      hiddenOut: opts.hiddenOut,
      skipGatedBlocks: opts.skipGatedBlocks,
      maxSeqLen: opts.maxSeqLen,
    });
    const session = await createSession(g, {
      device: opts.device,
      threads: opts.threads,
      purpose: "whole-model-forward",
    });
    // The session holds its own copy of the weights; drop ours.
    g.initializers.clear();
    return new ForwardSession(ckpt, fg, session);
  }

  get dtype(): ComputeDtype {
    return this.graph.dtype;
  }

  get config() {
    return this.checkpoint.config;
  }

  async run(
    feed: ForwardFeed,
    fetch?: { nll?: boolean; logits?: boolean; hidden?: boolean; hiddenOut?: boolean },
  ): Promise<ForwardResult> {
    const { inputs, outputs, blocks } = this.graph;
    const { batch: B, seqLen: T } = feed;
    const n = blocks.to - blocks.from;
    const feeds: Record<string, ort.Tensor> = {};
    if (inputs.gates)
      feeds[inputs.gates] = new ort.Tensor("float32", feed.gates ?? new Float32Array(n).fill(1), [n]);
    for (const w of inputs.blockWeights ?? []) {
      const first = required(feed.weightsOfBlock, "weightsOfBlock");
      const data = this.checkpoint.readFloat32(layerName(first + w.block, w.suffix));
      // onnxruntime-node cannot make a bfloat16 tensor from JS: bfloat16 weights live only as initializers.
      if (w.type === "bfloat16") throw new Error("bfloat16 block weights cannot be fed from JavaScript");
      feeds[w.name] =
        w.type === "float32"
          ? new ort.Tensor("float32", data, w.dims)
          : new ort.Tensor("float16", toHalfBits(data, w.type), w.dims);
    }
    if (inputs.ids) feeds[inputs.ids] = int64Tensor(required(feed.ids, "ids"), [B, T]);
    if (inputs.hiddenIn)
      feeds[inputs.hiddenIn] = new ort.Tensor("float32", required(feed.hiddenIn, "hiddenIn"), [
        B,
        T,
        this.config.hiddenSize,
      ]);
    if (inputs.targets) feeds[inputs.targets] = int64Tensor(required(feed.targets, "targets"), [B, T]);
    const want = fetch ?? { nll: true, logits: true, hidden: true, hiddenOut: true };
    const names: string[] = [];
    if (want.nll && outputs.nll) names.push(outputs.nll);
    if (want.logits && outputs.logits) names.push(outputs.logits);
    if (want.hidden && outputs.hidden) names.push(...outputs.hidden);
    if (want.hiddenOut && outputs.hiddenOut) names.push(outputs.hiddenOut);
    const out = await this.session.run(feeds, names);
    const data = (name: string | undefined) =>
      name && out[name] ? (out[name].data as Float32Array) : undefined;
    return {
      nll: data(outputs.nll),
      logits: data(outputs.logits),
      hidden: want.hidden && outputs.hidden ? outputs.hidden.map((name) => data(name)!) : undefined,
      hiddenOut: data(outputs.hiddenOut),
    };
  }

  /**
   * Sum of the next-token NLLs of each row (its T−1 predictions, HF labels=ids convention), for rows given
   * flattened [nRows, seqLen], run `batchSize` rows at a time. Equal-length rows need no padding, so this is
   * the same number per row as a one-row-at-a-time evaluation.
   */
  async rowNllSums(
    rows: ArrayLike<number>,
    nRows: number,
    seqLen: number,
    opts: {
      batchSize?: number;
      gates?: Float32Array;
      signal?: AbortSignal;
      onBatch?: (rowsDone: number) => void;
    } = {},
  ): Promise<Float64Array> {
    const sums = new Float64Array(nRows);
    const bs = Math.max(1, opts.batchSize ?? 4);
    for (let r0 = 0; r0 < nRows; r0 += bs) {
      opts.signal?.throwIfAborted();
      const B = Math.min(bs, nRows - r0);
      const ids = Array.prototype.slice.call(rows, r0 * seqLen, (r0 + B) * seqLen) as number[];
      const { nll } = await this.run(
        { batch: B, seqLen, ids, targets: shiftedTargets(ids, B, seqLen), gates: opts.gates },
        { nll: true },
      );
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let t = 0; t < seqLen - 1; t++) s += nll![b * seqLen + t]!;
        sums[r0 + b] = s;
      }
      opts.onBatch?.(r0 + B);
    }
    return sums;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function required<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`forward feed lacks ${what}`);
  return v;
}

function int64Tensor(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
  return new ort.Tensor("int64", data, dims);
}
