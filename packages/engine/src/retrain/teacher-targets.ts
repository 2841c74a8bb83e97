// The teacher's side of distillation: its next-token distribution at every position of a micro-batch, as
// log-probabilities log softmax(z_T/τ) over the full vocabulary, or over its K largest logits (sorted by value,
// ties to the lower token id, renormalised over the K: the oracle's kd-train top-K). Computed in float64 from
// the teacher's float32 logits, handed to the student's graph as float32.
import type { Checkpoint } from "@shortened/hf";
import type { SessionOptions } from "../graph/session.js";
import { ForwardSession } from "../models/forward-session.js";
import type { MicroBatch } from "./data.js";

export interface TeacherTargets {
  /** K per position (the vocabulary size without top-K) */
  k: number;
  /** [B, T, K] log-probabilities */
  logp: Float32Array;
  /** [B, T, K] token ids of the K entries (top-K only) */
  ids?: BigInt64Array;
}

/** Indices of the K largest values of z (descending; equal values: lower index first). */
export function topKIndices(z: ArrayLike<number>, k: number, offset = 0, length = z.length): Int32Array {
  const idx = new Int32Array(k);
  const val = new Float64Array(k);
  let n = 0;
  for (let v = 0; v < length; v++) {
    const x = z[offset + v]!;
    if (n === k && !(x > val[k - 1]!)) continue;
    // insertion point: after every kept value ≥ x (an equal earlier id stays first)
    let i = n < k ? n : k - 1;
    while (i > 0 && val[i - 1]! < x) {
      if (i < k) {
        val[i] = val[i - 1]!;
        idx[i] = idx[i - 1]!;
      }
      i--;
    }
    val[i] = x;
    idx[i] = v;
    if (n < k) n++;
  }
  return idx;
}

/** Teacher log-probabilities (full vocabulary, or top-K) from logits [positions, V]. */
export function teacherLogProbs(
  logits: Float32Array,
  positions: number,
  vocab: number,
  temperature: number,
  topK: number | null,
): TeacherTargets {
  const k = topK ?? vocab;
  const logp = new Float32Array(positions * k);
  const ids = topK ? new BigInt64Array(positions * k) : undefined;
  const zs = new Float64Array(k);
  for (let p = 0; p < positions; p++) {
    const off = p * vocab;
    if (topK) {
      const sel = topKIndices(logits, topK, off, vocab);
      for (let j = 0; j < k; j++) {
        zs[j] = logits[off + sel[j]!]! / temperature;
        ids![p * k + j] = BigInt(sel[j]!);
      }
    } else {
      for (let j = 0; j < k; j++) zs[j] = logits[off + j]! / temperature;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) if (zs[j]! > max) max = zs[j]!;
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(zs[j]! - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < k; j++) logp[p * k + j] = zs[j]! - lse;
  }
  return { k, logp, ids };
}

/** A teacher model run live: one forward per micro-batch, no gradients. */
export class LiveTeacher {
  private constructor(
    private readonly session: ForwardSession,
    readonly temperature: number,
    readonly topK: number | null,
  ) {}

  static async open(
    teacher: string | Checkpoint,
    temperature: number,
    topK: number | null,
    opts: SessionOptions = {},
  ): Promise<LiveTeacher> {
    const session = await ForwardSession.open(teacher, {
      nll: false,
      logits: true,
      device: opts.device,
      threads: opts.threads,
    });
    return new LiveTeacher(session, temperature, topK);
  }

  /** The teacher's raw logits [B, T, V] on the micro-batch's ids. */
  async logits(mb: MicroBatch): Promise<Float32Array> {
    const r = await this.session.run(
      { batch: mb.batch, seqLen: mb.seqLen, ids: Array.from(mb.ids, Number) },
      { logits: true },
    );
    return r.logits!;
  }

  async targets(mb: MicroBatch): Promise<TeacherTargets> {
    const V = this.session.config.vocabSize;
    return teacherLogProbs(await this.logits(mb), mb.batch * mb.seqLen, V, this.temperature, this.topK);
  }

  async release(): Promise<void> {
    await this.session.session.release();
  }
}
