// Builds the teacher's top-K cache (./distill-cache.ts) by running the teacher alone over the training rows,
// before the student is loaded: the whole teacher (the live teacher's very forward, so the cached numbers are
// its numbers) when it fits the memory budget, else block-streamed (one block's weights resident, the head in
// vocabulary chunks, ../execution/streamed-model.ts), so a teacher that would not fit beside the student, or
// at all, still serves a distillation. The file is written beside `path` and renamed into place when complete.
import { createHash } from "node:crypto";
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { Checkpoint } from "@shortened/hf";
import { type ExecutionPlan, planExecution } from "../execution/plan.js";
import { StreamedModel } from "../execution/streamed-model.js";
import type { SessionOptions } from "../graph/session.js";
import { ForwardSession } from "../models/forward-session.js";
import { openCheckpoint } from "../models/weights.js";
import type { TrainRows } from "./data.js";
import { CACHE_FORMAT, cacheBodyBytes, type TeacherCacheHeader } from "./distill-cache.js";
import { topKIndices } from "./teacher-targets.js";

export interface BuildTeacherCacheOptions extends SessionOptions {
  teacher: string | Checkpoint;
  rows: Pick<TrainRows, "ids">;
  topK: number;
  /** the cache file to write (replaced when it exists) */
  path: string;
  /** rows per teacher forward (default 4; the training micro-batch is a good choice) */
  batch?: number;
  /** the budget the teacher's forward must fit (it runs alone: the student is not loaded yet) */
  memoryBudget?: string | number;
  /** force whole or streamed (tests, benchmarks) */
  execution?: "whole" | "streamed";
  signal?: AbortSignal;
  onPlan?: (plan: ExecutionPlan) => void;
  onProgress?: (rowsDone: number, rows: number) => void;
}

export interface BuiltTeacherCache {
  path: string;
  bytes: number;
  tokens: number;
  plan: ExecutionPlan;
}

export async function buildTeacherCache(o: BuildTeacherCacheOptions): Promise<BuiltTeacherCache> {
  const teacher = openCheckpoint(o.teacher);
  const V = teacher.config.vocabSize;
  const K = o.topK;
  const rows = o.rows.ids;
  const lengths = rows.map((r) => r.length);
  const T = Math.max(1, ...lengths);
  const B = Math.max(1, Math.min(o.batch ?? 4, rows.length));
  const plan = planExecution({
    config: teacher.config,
    memoryBudget: o.memoryBudget,
    what: "the distillation teacher's top-K cache",
    workload: { batch: B, seqLen: T, head: "logits" },
    streamed: {
      workload: (n) => ({ batch: B, seqLen: T, head: "logits", keptRows: n }),
      minRows: B,
      maxRows: Math.max(B, rows.length),
    },
    force: o.execution,
  });
  o.onPlan?.(plan);
  const session = { device: o.device, threads: o.threads };
  const forward =
    plan.mode === "whole"
      ? await wholeLogits(teacher, session)
      : await streamedLogits(teacher, { ...session, maxSeqLen: T }, plan.rowsPerPass!);

  const header = (sha: string): Buffer => {
    const h: TeacherCacheHeader = { format: CACHE_FORMAT, k: K, vocab: V, lengths, bodySha256: sha };
    const json = Buffer.from(JSON.stringify(h), "utf8");
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json]);
  };
  const tmp = `${o.path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  const hash = createHash("sha256");
  try {
    let at = writeSync(fd, header("0".repeat(64)), 0, undefined, 0);
    await forward.each(rows, B, V, o.signal, (logits, r0, n, seqLen) => {
      for (let b = 0; b < n; b++) {
        const len = lengths[r0 + b]!;
        const values = new Float32Array(len * K);
        const ids = new Int32Array(len * K);
        for (let t = 0; t < len; t++) {
          const off = (b * seqLen + t) * V;
          const sel = topKIndices(logits, K, off, V);
          for (let j = 0; j < K; j++) {
            values[t * K + j] = logits[off + sel[j]!]!;
            ids[t * K + j] = sel[j]!;
          }
        }
        for (const part of [values, ids]) {
          const bytes = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
          hash.update(bytes);
          at += writeSync(fd, bytes, 0, bytes.length, at);
        }
      }
      o.onProgress?.(r0 + n, rows.length);
    });
    writeSync(fd, header(hash.digest("hex")), 0, undefined, 0);
    closeSync(fd);
    renameSync(tmp, o.path);
    const tokens = lengths.reduce((a, b) => a + b, 0);
    return { path: o.path, bytes: at, tokens, plan };
  } catch (e) {
    try {
      closeSync(fd);
    } catch {}
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    await forward.release();
  }
}

/** The teacher's logits [n, seqLen, V] of consecutive batches of rows (right-padded with token 0: causal
 *  attention keeps padding out of every real position). */
interface LogitsSource {
  each(
    rows: number[][],
    batch: number,
    vocab: number,
    signal: AbortSignal | undefined,
    use: (logits: Float32Array, r0: number, n: number, seqLen: number) => void,
  ): Promise<void>;
  release(): Promise<void>;
}

function padded(rows: number[][], r0: number, n: number): { ids: number[]; seqLen: number } {
  const seqLen = Math.max(...rows.slice(r0, r0 + n).map((r) => r.length));
  const ids = new Array<number>(n * seqLen).fill(0);
  for (let b = 0; b < n; b++) {
    const row = rows[r0 + b]!;
    for (let t = 0; t < row.length; t++) ids[b * seqLen + t] = row[t]!;
  }
  return { ids, seqLen };
}

/** The whole teacher, opened as the live teacher opens it (../retrain/teacher-targets.ts LiveTeacher). */
async function wholeLogits(teacher: Checkpoint, opts: SessionOptions): Promise<LogitsSource> {
  const session = await ForwardSession.open(teacher, { nll: false, logits: true, ...opts });
  return {
    async each(rows, batch, _vocab, signal, use) {
      for (let r0 = 0; r0 < rows.length; r0 += batch) {
        signal?.throwIfAborted();
        const n = Math.min(batch, rows.length - r0);
        const { ids, seqLen } = padded(rows, r0, n);
        const r = await session.run({ batch: n, seqLen, ids }, { logits: true });
        use(r.logits!, r0, n, seqLen);
      }
    },
    release: () => session.session.release(),
  };
}

/** The teacher block-streamed: the rows of a pass go through every block (each read once), then the head. */
async function streamedLogits(
  teacher: Checkpoint,
  opts: SessionOptions & { maxSeqLen: number },
  rowsPerPass: number,
): Promise<LogitsSource> {
  const model = await StreamedModel.open(teacher, opts);
  return {
    async each(rows, batch, _vocab, signal, use) {
      const perPass = Math.max(batch, rowsPerPass);
      for (let p0 = 0; p0 < rows.length; p0 += perPass) {
        const batches = [];
        for (let r0 = p0; r0 < Math.min(rows.length, p0 + perPass); r0 += batch) {
          const n = Math.min(batch, rows.length - r0, p0 + perPass - r0);
          const { ids, seqLen } = padded(rows, r0, n);
          batches.push({ r0, n, seqLen, h: model.embed(ids, n, seqLen) });
        }
        for (let i = 0; i < model.numLayers; i++) {
          model.loadBlock(i);
          for (const b of batches) {
            signal?.throwIfAborted();
            b.h = await model.runBlock(i, b.h);
          }
        }
        for (const b of batches) use(await model.headLogits(b.h.data, b.n * b.seqLen), b.r0, b.n, b.seqLen);
      }
    },
    release: () => model.release(),
  };
}

/** Disk per million tokens of a cache with K entries per position. */
export function cacheBytesPerMillionTokens(k: number): number {
  return cacheBodyBytes([1_000_000], k);
}
