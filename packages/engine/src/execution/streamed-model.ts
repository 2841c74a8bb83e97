// Block-streamed execution: a model that does not fit runs as the embedding (rows gathered from the file), one
// small ONNX Runtime graph per block kind fed the weights of one block at a time, and the head in chunks of
// vocabulary rows. Weights are read with positioned reads into one reused float32 buffer, so one block (or one
// head chunk) is resident; the caller keeps the hidden states of all its rows between blocks, so every block is
// read once per pass however many rows the pass holds.
//
// In a half compute dtype (`dtype`), as the whole model (../models/precision.ts): each block's matrices and each
// head chunk are rounded to it once as they are read and fed in it, the block graphs and the head run their
// MatMuls in it, and embedding rows are the half table's rows widened; norms, softmax and the NLL stay float32.
// Then the one resident block is held at 2 bytes a matrix parameter: matrices are read straight from their stored
// bits into a half buffer (./tensor-reader.ts), so no float32 copy of a block exists (7B shapes: 0.4 GB, not 1.2).
//
// Each block runs the very graph the whole model runs for it (../models/forward-graph.ts with `blockWeights:
// "inputs"`, gate 1), so a streamed block is the whole model's block; the head computes per-token NLL as
// logsumexp over the chunks' partial sums, which matches the whole graph's LogSoftmax to float32 rounding.
import type { Checkpoint } from "@shortened/hf";
import { createSession, ort, type SessionOptions } from "../graph/session.js";
import {
  type Architecture,
  architectureOf,
  EMBEDDING,
  FINAL_NORM,
  LM_HEAD,
  layerName,
} from "../models/architecture.js";
import { buildForwardGraph, type ForwardGraph } from "../models/forward-graph.js";
import { type ComputeDtype, heldInComputeDtype, roundThroughHalf } from "../models/precision.js";
import { headChunkRows } from "./estimate.js";
import { headGraph } from "./streamed-head.js";
import { TensorReader } from "./tensor-reader.js";

export interface StreamedModelOptions extends SessionOptions {
  /** longest sequence a block graph serves (rotary tables) */
  maxSeqLen: number;
  /** vocabulary rows per head chunk (default: as many as a block's weights hold) */
  headChunkRows?: number;
  /** blocks take and return their KV cache (generation), in Hugging Face's order (h + a) + m as KvGenerator's
   *  whole graph; otherwise gated h + 1·(a + m) as the scoring graphs */
  kvCache?: boolean;
  /** compute dtype (default float32): half matrices and MatMuls, as the whole model */
  dtype?: ComputeDtype;
}

/** One block's cached keys and values [B, kvHeads, P, d]. */
export interface BlockCache {
  key: ort.Tensor;
  value: ort.Tensor;
}

/** Rows of hidden states [batch, seqLen, hidden] that move through the blocks together. */
export interface HiddenRows {
  batch: number;
  seqLen: number;
  data: Float32Array;
}

interface BlockRunner {
  graph: ForwardGraph;
  session: ort.InferenceSession;
}

interface HeadRunner {
  session: ort.InferenceSession;
  rows: number;
}

export class StreamedModel {
  private readonly blockRunners = new Map<string, BlockRunner>();
  private readonly graphs = new Map<string, ForwardGraph>();
  /** float32: one block's weights or one head chunk, the only weights in memory; half: the block's vectors */
  private readonly arena: Float32Array;
  /** half: one block's matrices or one head chunk, rounded (null in float32) */
  private readonly halfArena: Uint16Array | null;
  private loadedBlock = -1;
  private loadedFeeds: Record<string, ort.Tensor> = {};
  private readonly reader: TensorReader;

  private constructor(
    readonly checkpoint: Checkpoint,
    readonly arch: Architecture,
    private readonly opts: StreamedModelOptions,
    private readonly head: HeadRunner,
    private readonly nllHead: ort.InferenceSession,
    /** the final norm's weight [hidden] (the head graphs hold it; the Taylor+ backward scores it) */
    readonly finalNorm: Float32Array,
  ) {
    this.reader = new TensorReader(checkpoint);
    const elems = (held: boolean) =>
      arch.blockTensors
        .filter((t) => held === (this.dtype !== "float32" && heldInComputeDtype(t.shape)))
        .reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    const headElems = head.rows * arch.hiddenSize;
    if (this.dtype === "float32") {
      this.arena = new Float32Array(Math.max(elems(false), headElems));
      this.halfArena = null;
    } else {
      this.arena = new Float32Array(elems(false));
      this.halfArena = new Uint16Array(Math.max(elems(true), headElems));
    }
  }

  /** Bytes of the buffers that hold the resident weights (a block or a head chunk). */
  get residentWeightBytes(): number {
    return this.arena.byteLength + (this.halfArena?.byteLength ?? 0);
  }

  static async open(ckpt: Checkpoint, opts: StreamedModelOptions): Promise<StreamedModel> {
    const arch = architectureOf(ckpt.config);
    const rows = Math.min(arch.vocabSize, opts.headChunkRows ?? headChunkRows(ckpt.config));
    const finalNorm = new TensorReader(ckpt);
    const norm = finalNorm.readInto(FINAL_NORM, new Float32Array(arch.hiddenSize));
    finalNorm.close();
    const session: SessionOptions = {
      device: opts.device,
      threads: opts.threads,
      purpose: "streamed-forward",
    };
    const dtype = opts.dtype ?? "float32";
    // onnxruntime-node makes no bfloat16 tensor from JavaScript: streamed feeds are float32 or float16
    if (dtype === "bfloat16") throw new Error("streamed execution runs float32 or float16, not bfloat16");
    const [logitsHead, nllHead] = await Promise.all([
      createSession(headGraph(arch, norm, "logits", dtype), session),
      createSession(headGraph(arch, norm, "nll", dtype), session),
    ]);
    return new StreamedModel(ckpt, arch, opts, { session: logitsHead, rows }, nllHead, norm);
  }

  get numLayers(): number {
    return this.arch.numLayers;
  }

  /** vocabulary rows per head chunk */
  get headRows(): number {
    return this.head.rows;
  }

  /** longest sequence the block graphs serve */
  get maxSeqLen(): number {
    return this.opts.maxSeqLen;
  }

  get dtype(): ComputeDtype {
    return this.opts.dtype ?? "float32";
  }

  /** the options of the model's forward sessions (blocks and head chunks) */
  get sessionOptions(): SessionOptions {
    return { device: this.opts.device, threads: this.opts.threads, purpose: "streamed-forward" };
  }

  /** h_0 of token ids [batch, seqLen]: each distinct token's embedding row read from the file. */
  embed(ids: ArrayLike<number>, batch: number, seqLen: number): HiddenRows {
    const H = this.arch.hiddenSize;
    const out = new Float32Array(ids.length * H);
    const rows = new Map<number, number>();
    const row = new Float32Array(H);
    const scale = this.arch.embeddingScale === null ? null : Math.fround(this.arch.embeddingScale);
    const dtype = this.dtype;
    for (let k = 0; k < ids.length; k++) {
      const t = ids[k]!;
      const first = rows.get(t);
      if (first !== undefined) {
        out.copyWithin(k * H, first * H, (first + 1) * H);
        continue;
      }
      this.reader.readInto(EMBEDDING, row, t * H);
      if (dtype !== "float32") roundThroughHalf(row, dtype);
      if (scale === null) out.set(row, k * H);
      else for (let d = 0; d < H; d++) out[k * H + d] = row[d]! * scale;
      rows.set(t, k);
    }
    return { batch, seqLen, data: out };
  }

  /** Reads block i's weights into the buffer (once; the next block or head chunk replaces them). */
  loadBlock(i: number): void {
    if (this.loadedBlock === i) return;
    this.loadedBlock = -1;
    const feeds: Record<string, ort.Tensor> = {};
    let at = 0;
    let halfAt = 0;
    for (const w of this.blockGraph(i).inputs.blockWeights!) {
      const n = w.dims.reduce((a, b) => a * b, 1);
      const name = layerName(i, w.suffix);
      if (w.type === "float32") {
        const view = this.arena.subarray(at, at + n);
        this.reader.readInto(name, view);
        feeds[w.name] = new ort.Tensor("float32", view, w.dims);
        at += n;
      } else {
        feeds[w.name] = new ort.Tensor("float16", this.readHalf(name, 0, n, halfAt), w.dims);
        halfAt += n;
      }
    }
    this.loadedFeeds = feeds;
    this.loadedBlock = i;
  }

  /** Block i's weights as feeds of a graph built like blockGraph(i) (read now unless already loaded; valid
   *  until the next block or head chunk is loaded). */
  blockWeightFeeds(i: number): Record<string, ort.Tensor> {
    this.loadBlock(i);
    return this.loadedFeeds;
  }

  /** Block i (its weights loaded by loadBlock) applied to rows of hidden states. */
  async runBlock(i: number, h: HiddenRows): Promise<HiddenRows> {
    return (await this.runCachedBlock(i, h, null)).h;
  }

  /** Block i after its cache `past` (null: empty; the model opened with kvCache): the new states and the cache
   *  grown by the new tokens. */
  async runCachedBlock(
    i: number,
    h: HiddenRows,
    past: BlockCache | null,
  ): Promise<{ h: HiddenRows; present: BlockCache | null }> {
    if (this.loadedBlock !== i) this.loadBlock(i);
    const runner = await this.blockRunner(i);
    const { inputs, outputs } = runner.graph;
    const feeds: Record<string, ort.Tensor> = {
      ...this.loadedFeeds,
      [inputs.hiddenIn!]: new ort.Tensor("float32", h.data, [h.batch, h.seqLen, this.arch.hiddenSize]),
    };
    if (inputs.gates) feeds[inputs.gates] = new ort.Tensor("float32", new Float32Array([1]), [1]);
    const fetch = [outputs.hiddenOut!];
    if (inputs.pastKeys) {
      const empty = () =>
        new ort.Tensor("float32", new Float32Array(0), [h.batch, this.arch.numKvHeads, 0, this.arch.headDim]);
      feeds[inputs.pastKeys[0]!] = past?.key ?? empty();
      feeds[inputs.pastValues![0]!] = past?.value ?? empty();
      fetch.push(outputs.presentKeys![0]!, outputs.presentValues![0]!);
    }
    const out = await runner.session.run(feeds, fetch);
    const next = { batch: h.batch, seqLen: h.seqLen, data: out[outputs.hiddenOut!]!.data as Float32Array };
    const present = inputs.pastKeys
      ? { key: out[outputs.presentKeys![0]!]!, value: out[outputs.presentValues![0]!]! }
      : null;
    return { h: next, present };
  }

  /** Per-token NLL [batch, seqLen] of the next-token targets, for several sets of rows at once: each head
   *  chunk is read once and serves them all. */
  async headNll(sets: { h: HiddenRows; targets: ArrayLike<number> }[]): Promise<Float32Array[]> {
    return (await this.headNllLse(sets)).map((x) => x.nll);
  }

  /** headNll, with each token's logsumexp of its logits (float64, from the chunks' partial sums) beside. */
  async headNllLse(
    sets: { h: HiddenRows; targets: ArrayLike<number> }[],
  ): Promise<{ nll: Float32Array; lse: Float64Array }[]> {
    const V = this.arch.vocabSize;
    const acc = sets.map(({ h }) => ({
      max: new Float64Array(h.batch * h.seqLen).fill(Number.NEGATIVE_INFINITY),
      sum: new Float64Array(h.batch * h.seqLen),
      target: new Float64Array(h.batch * h.seqLen),
    }));
    for (let v0 = 0; v0 < V; v0 += this.head.rows) {
      const rows = Math.min(this.head.rows, V - v0);
      const weight = this.loadHeadChunk(v0, rows);
      for (let s = 0; s < sets.length; s++) {
        const { h, targets } = sets[s]!;
        const n = h.batch * h.seqLen;
        const local = new BigInt64Array(n);
        for (let k = 0; k < n; k++) {
          const t = targets[k]! - v0;
          local[k] = BigInt(t >= 0 && t < rows ? t : 0);
        }
        const out = await this.nllHead.run({
          hidden: new ort.Tensor("float32", h.data, [n, this.arch.hiddenSize]),
          head_weight: weight,
          targets: new ort.Tensor("int64", local, [n]),
        });
        const m = out.chunk_max!.data as Float32Array;
        const se = out.chunk_sumexp!.data as Float32Array;
        const tl = out.target_logit!.data as Float32Array;
        const a = acc[s]!;
        for (let k = 0; k < n; k++) {
          const t = targets[k]! - v0;
          if (t >= 0 && t < rows) a.target[k] = tl[k]!;
          // running logsumexp: Σ exp(x − M) over the chunks so far, M the largest max
          const mk = m[k]!;
          if (mk > a.max[k]!) {
            a.sum[k] = a.sum[k]! * Math.exp(a.max[k]! - mk) + se[k]!;
            a.max[k] = mk;
          } else {
            a.sum[k] = a.sum[k]! + se[k]! * Math.exp(mk - a.max[k]!);
          }
        }
      }
    }
    return acc.map((a) => {
      const lse = a.max.map((mx, k) => mx + Math.log(a.sum[k]!));
      return { nll: Float32Array.from(lse, (l, k) => l - a.target[k]!), lse };
    });
  }

  /** Logits [rows, vocab] of the given positions' hidden states [rows, hidden]. */
  async headLogits(h: Float32Array, rows: number): Promise<Float32Array> {
    const V = this.arch.vocabSize;
    const out = new Float32Array(rows * V);
    for (let v0 = 0; v0 < V; v0 += this.head.rows) {
      const n = Math.min(this.head.rows, V - v0);
      const weight = this.loadHeadChunk(v0, n);
      const res = await this.head.session.run({
        hidden: new ort.Tensor("float32", h, [rows, this.arch.hiddenSize]),
        head_weight: weight,
      });
      const chunk = res.logits!.data as Float32Array;
      for (let r = 0; r < rows; r++) out.set(chunk.subarray(r * n, (r + 1) * n), r * V + v0);
    }
    return out;
  }

  async release(): Promise<void> {
    this.reader.close();
    await Promise.all([
      this.head.session.release(),
      this.nllHead.release(),
      ...[...this.blockRunners.values()].map((r) => r.session.release()),
    ]);
  }

  /** The head's weight rows [v0, v0 + rows) (they replace the loaded block). */
  loadHeadChunk(v0: number, rows: number): ort.Tensor {
    this.loadedBlock = -1;
    const H = this.arch.hiddenSize;
    const name = this.arch.tiedHead ? EMBEDDING : LM_HEAD;
    if (this.halfArena) return new ort.Tensor("float16", this.readHalf(name, v0 * H, rows * H, 0), [rows, H]);
    const view = this.arena.subarray(0, rows * H);
    this.reader.readInto(name, view, v0 * H);
    return new ort.Tensor("float32", view, [rows, H]);
  }

  /** Elements [start, start + n) of a tensor rounded to float16 into the half buffer at `at`. */
  private readHalf(name: string, start: number, n: number, at: number): Uint16Array {
    return this.reader.readHalfInto(name, this.halfArena!.subarray(at, at + n), start);
  }

  /** Blocks share a graph when their attention is alike (e.g. Mistral's sliding window on every layer). */
  kindOf(i: number): string {
    return JSON.stringify(this.arch.attention[i]);
  }

  /** The one-block graph of block i's kind (weights as inputs `blocks.0.<suffix>`). */
  blockGraph(i: number): ForwardGraph {
    const kind = this.kindOf(i);
    let fg = this.graphs.get(kind);
    if (!fg) {
      fg = buildForwardGraph(this.checkpoint.config, {
        weight: (name) => {
          throw new Error(`a streamed block graph reads no ${name}`);
        },
        blocks: { from: i, to: i + 1 },
        input: "hidden",
        blockWeights: "inputs",
        hiddenOut: true,
        nll: false,
        kvCache: this.opts.kvCache,
        gates: !this.opts.kvCache,
        maxSeqLen: this.opts.maxSeqLen,
        dtype: this.dtype,
      });
      this.graphs.set(kind, fg);
    }
    return fg;
  }

  private async blockRunner(i: number): Promise<BlockRunner> {
    const kind = this.kindOf(i);
    let r = this.blockRunners.get(kind);
    if (!r) {
      const graph = this.blockGraph(i);
      const session = await createSession(graph.graph, this.sessionOptions);
      r = { graph, session };
      this.blockRunners.set(kind, r);
    }
    return r;
  }
}
