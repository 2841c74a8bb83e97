// The teacher's top-K cache: for every position of every training row, the teacher's K largest raw logits
// (float32, as the live teacher's forward gives them) and their token ids (int32), in the order the live
// teacher sorts them (descending, ties to the lower id). Raw logits do not depend on the temperature, so one
// cache serves every τ and α; it depends only on the teacher, the rows' token ids and K (cacheKey).
//
// File: 8 bytes (little-endian length of the header) + the header JSON {format, k, vocab, lengths,
// bodySha256} + the body: row after row, that row's values [len, K] float32 then its ids [len, K] int32. The
// body's sha256 in the header is checked when the cache is opened, so a truncated or altered file is refused
// (and the caller recomputes it). A row of length L costs 8·K·L bytes: K = 64 is 512 bytes per token, 512 MB
// per million tokens (float16 values would halve the values but not give the live teacher's numbers).
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { MicroBatch, TrainRows } from "./data.js";
import type { TeacherTargets } from "./teacher-targets.js";
import type { TeacherSource } from "./trainer.js";

export const CACHE_FORMAT = 1;
const HASH_CHUNK = 16 << 20;

export interface TeacherCacheHeader {
  format: number;
  k: number;
  vocab: number;
  /** tokens of each row, in the rows' order */
  lengths: number[];
  /** sha256 of everything after the header */
  bodySha256: string;
}

/** What identifies a cache: the teacher (a registry version id, or a folder), the rows' token ids and K. */
export function teacherCacheKey(teacherKey: string, rows: Pick<TrainRows, "ids">, topK: number): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ format: CACHE_FORMAT, teacher: teacherKey, k: topK, rows: rows.ids.length }));
  for (const r of rows.ids) h.update(new Uint8Array(Int32Array.from(r).buffer)).update("\n");
  return h.digest("hex");
}

/** Bytes of the body for rows of these lengths. */
export function cacheBodyBytes(lengths: number[], k: number): number {
  return lengths.reduce((s, l) => s + 8 * k * l, 0);
}

/** Reads and checks a cache file against the rows it must serve; throws with the reason when it does not. */
export function verifyTeacherCache(
  path: string,
  expect: { k: number; vocab: number; lengths: number[] },
): { header: TeacherCacheHeader; bodyStart: number } {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (size < 8 || readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new Error("shorter than its header");
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > size - 8 || headerLen > 1 << 30) throw new Error("its header length is out of range");
    const hb = Buffer.alloc(headerLen);
    readSync(fd, hb, 0, headerLen, 8);
    const header = JSON.parse(hb.toString("utf8")) as TeacherCacheHeader;
    if (header.format !== CACHE_FORMAT) throw new Error(`format ${header.format}, not ${CACHE_FORMAT}`);
    if (header.k !== expect.k || header.vocab !== expect.vocab)
      throw new Error(`K ${header.k} / vocabulary ${header.vocab}, not ${expect.k} / ${expect.vocab}`);
    if (
      header.lengths.length !== expect.lengths.length ||
      header.lengths.some((l, i) => l !== expect.lengths[i])
    )
      throw new Error("its rows are not the training rows");
    const bodyStart = 8 + headerLen;
    const body = cacheBodyBytes(header.lengths, header.k);
    if (size !== bodyStart + body) throw new Error(`${size} bytes, not ${bodyStart + body}`);
    const h = createHash("sha256");
    const buf = Buffer.alloc(Math.min(HASH_CHUNK, Math.max(1, body)));
    for (let at = 0; at < body; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, body - at), bodyStart + at);
      if (n <= 0) throw new Error("ends early");
      h.update(buf.subarray(0, n));
      at += n;
    }
    if (h.digest("hex") !== header.bodySha256) throw new Error("its checksum does not match its contents");
    return { header, bodyStart };
  } finally {
    closeSync(fd);
  }
}

/** The teacher's targets read from a verified cache: the live teacher's numbers without the teacher. */
export class CachedTeacher implements TeacherSource {
  private readonly offsets: number[];
  private fd: number | null;

  private constructor(
    path: string,
    private readonly header: TeacherCacheHeader,
    bodyStart: number,
    readonly temperature: number,
  ) {
    this.fd = openSync(path, "r");
    this.offsets = [];
    let at = bodyStart;
    for (const l of header.lengths) {
      this.offsets.push(at);
      at += 8 * header.k * l;
    }
  }

  /** Opens a cache for these rows (verify first: throws with the reason when it is not theirs or corrupt). */
  static open(
    path: string,
    expect: { k: number; vocab: number; lengths: number[] },
    temperature: number,
  ): CachedTeacher {
    const { header, bodyStart } = verifyTeacherCache(path, expect);
    return new CachedTeacher(path, header, bodyStart, temperature);
  }

  async targets(mb: MicroBatch, sel: number[]): Promise<TeacherTargets> {
    const K = this.header.k;
    const T = mb.seqLen;
    const logp = new Float32Array(mb.batch * T * K);
    const ids = new BigInt64Array(mb.batch * T * K);
    // Positions past a row's end (padding) carry no target (mask 0): a uniform, finite distribution.
    logp.fill(-Math.log(K));
    const zs = new Float64Array(K);
    sel.forEach((r, b) => {
      const len = this.header.lengths[r]!;
      const buf = Buffer.alloc(8 * K * len);
      readSync(this.fd!, buf, 0, buf.length, this.offsets[r]!);
      const values = new Float32Array(buf.buffer, buf.byteOffset, K * len);
      const tokens = new Int32Array(buf.buffer, buf.byteOffset + 4 * K * len, K * len);
      for (let t = 0; t < len; t++) {
        const at = (b * T + t) * K;
        // as teacherLogProbs: float64 log-softmax of z/τ over the K kept logits
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < K; j++) {
          zs[j] = values[t * K + j]! / this.temperature;
          if (zs[j]! > max) max = zs[j]!;
        }
        let sum = 0;
        for (let j = 0; j < K; j++) sum += Math.exp(zs[j]! - max);
        const lse = max + Math.log(sum);
        for (let j = 0; j < K; j++) {
          logp[at + j] = zs[j]! - lse;
          ids[at + j] = BigInt(tokens[t * K + j]!);
        }
      }
      for (let t = len; t < T; t++) for (let j = 0; j < K; j++) ids[(b * T + t) * K + j] = BigInt(j);
    });
    return { k: K, logp, ids };
  }

  async release(): Promise<void> {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
