// The teacher's top-K cache: a distilled run reading the cache gives the live teacher's loss, KD and CE per step
// (within 1e-6; one cache serves every temperature), on rows of unequal length (padding) and for LoRA; a
// block-streamed build holds the whole teacher's entries; a corrupt, truncated or foreign cache is refused with
// the reason (callers recompute it).
import assert from "node:assert/strict";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { trainCpt } from "./cpt.js";
import { cacheBodyBytes, teacherCacheKey, verifyTeacherCache } from "./distill-cache.js";
import { buildTeacherCache } from "./distill-cache-build.js";
import { trainLora } from "./lora.js";

const KD = fileURLToPath(new URL("../fixtures/kd/", import.meta.url));
const student = join(KD, "student");
const teacher = join(KD, "teacher");
const f = JSON.parse(readFileSync(join(KD, "kd.json"), "utf8"));
// unequal lengths: rows 1, 3 and 4 cut short, so micro-batches are padded
const cut = [12, 9, 12, 7, 10, 12];
const rows = {
  ids: (f.train.batch as number[][]).map((r, i) => r.slice(0, cut[i])),
  labels: (f.train.labels as number[][]).map((r, i) => r.slice(0, cut[i])),
  source: "fixture",
};
const K = 8;
const opts = {
  steps: 6,
  batch: 2,
  gradAccum: 2,
  lr: 1e-3,
  warmup: 1,
  schedule: "linear" as const,
  maxGradNorm: 1,
  weightDecay: 0.01,
  threads: 1,
};
const tmp = mkdtempSync(join(tmpdir(), "distill-cache-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
const cache = join(tmp, "teacher.kdc");
const lengths = rows.ids.map((r) => r.length);

function sameCurves(a: Record<string, number[] | undefined>, b: Record<string, number[] | undefined>): void {
  for (const key of ["losses", "kdLosses", "ceLosses", "gradNorms"]) {
    assert.equal(a[key]!.length, opts.steps, key);
    a[key]!.forEach((x, s) => {
      assert.ok(rel(x, b[key]![s]!) <= 1e-6, `${key} step ${s}: ${x} vs ${b[key]![s]}`);
    });
  }
}

test("a cached teacher gives the live teacher's losses per step, at any temperature, for CPT and LoRA", async () => {
  const built = await buildTeacherCache({ teacher, rows, topK: K, path: cache, batch: 2, threads: 1 });
  assert.equal(built.plan.mode, "whole");
  assert.equal(
    built.tokens,
    lengths.reduce((a, b) => a + b, 0),
  );
  assert.equal(
    built.bytes,
    verifyTeacherCache(cache, { k: K, vocab: 256, lengths }).bodyStart + cacheBodyBytes(lengths, K),
  );
  for (const temperature of [1, 2.5]) {
    const distill = { teacher, alpha: 0.6, temperature, topK: K };
    const live = await trainCpt({
      ...opts,
      model: student,
      rows,
      out: join(tmp, `live-${temperature}`),
      distill,
    });
    const cached = await trainCpt({
      ...opts,
      model: student,
      rows,
      out: join(tmp, `cached-${temperature}`),
      distill: { ...distill, cache },
    });
    sameCurves(cached as never, live as never);
  }
  const distill = { teacher, alpha: 1, temperature: 1.5, topK: K };
  const lora = { ...opts, model: student, rows, r: 4, alpha: 8, merge: false };
  const live = await trainLora({ ...lora, out: join(tmp, "lora-live"), distill });
  const cached = await trainLora({ ...lora, out: join(tmp, "lora-cached"), distill: { ...distill, cache } });
  sameCurves(cached as never, live as never);
});

test("a cached run does not count the teacher in its memory plan", async () => {
  const distill = { teacher, topK: K };
  const live = await trainCpt({
    ...opts,
    steps: 1,
    model: student,
    rows,
    out: join(tmp, "plan-live"),
    distill,
  });
  const cached = await trainCpt({
    ...opts,
    steps: 1,
    model: student,
    rows,
    out: join(tmp, "plan-cached"),
    distill: { ...distill, cache },
  });
  assert.match(live.memoryPlan!, /teacher/);
  assert.doesNotMatch(cached.memoryPlan!, /teacher/);
});

test("a block-streamed build holds the whole teacher's top-K entries", async () => {
  const streamed = join(tmp, "streamed.kdc");
  const built = await buildTeacherCache({
    teacher,
    rows,
    topK: K,
    path: streamed,
    batch: 2,
    threads: 1,
    execution: "streamed",
  });
  assert.equal(built.plan.mode, "streamed");
  const a = verifyTeacherCache(cache, { k: K, vocab: 256, lengths });
  const b = verifyTeacherCache(streamed, { k: K, vocab: 256, lengths });
  const body = (path: string, at: number) => readFileSync(path).subarray(at);
  const x = body(cache, a.bodyStart);
  const y = body(streamed, b.bodyStart);
  assert.equal(x.length, y.length);
  let off = 0;
  for (const len of lengths) {
    const n = len * K;
    const va = new Float32Array(x.buffer.slice(x.byteOffset + off, x.byteOffset + off + 4 * n));
    const vb = new Float32Array(y.buffer.slice(y.byteOffset + off, y.byteOffset + off + 4 * n));
    va.forEach((v, i) => {
      assert.ok(Math.abs(v - vb[i]!) <= 1e-4 * Math.max(1, Math.abs(v)), `${v} vs ${vb[i]}`);
    });
    assert.ok(
      x.subarray(off + 4 * n, off + 8 * n).equals(y.subarray(off + 4 * n, off + 8 * n)),
      "ids differ",
    );
    off += 8 * n;
  }
});

test("a corrupt, truncated or foreign cache is refused with the reason", () => {
  const expect = { k: K, vocab: 256, lengths };
  const bad = join(tmp, "bad.kdc");
  const copy = () => {
    const bytes = readFileSync(cache);
    const fd = openSync(bad, "w");
    writeSync(fd, bytes);
    closeSync(fd);
    return bytes.length;
  };
  const size = copy();
  const fd = openSync(bad, "r+");
  const one = Buffer.alloc(1);
  readSync(fd, one, 0, 1, size - 5);
  one[0] ^= 0x40;
  writeSync(fd, one, 0, 1, size - 5);
  closeSync(fd);
  assert.throws(() => verifyTeacherCache(bad, expect), /checksum does not match/);
  copy();
  truncateSync(bad, size - 8);
  assert.throws(() => verifyTeacherCache(bad, expect), /bytes, not/);
  assert.throws(
    () => verifyTeacherCache(cache, { ...expect, lengths: [...lengths].reverse() }),
    /not the training rows/,
  );
  assert.throws(() => verifyTeacherCache(cache, { ...expect, k: 16 }), /K 8/);
  const junk = openSync(bad, "w");
  writeSync(junk, "junk");
  closeSync(junk);
  assert.throws(() => verifyTeacherCache(bad, expect), /shorter than its header/);
  // the key follows the teacher, the rows' ids and K
  const key = teacherCacheKey("v1", rows, K);
  assert.equal(key, teacherCacheKey("v1", { ids: rows.ids.map((r) => [...r]) }, K));
  assert.notEqual(key, teacherCacheKey("v2", rows, K));
  assert.notEqual(key, teacherCacheKey("v1", rows, 16));
  assert.notEqual(key, teacherCacheKey("v1", { ids: [rows.ids[0]!.slice(0, 11), ...rows.ids.slice(1)] }, K));
});
