// float32 weights stored in a file reach ONNX Runtime from that file: nothing of the weights' size is written, the
// Transpose ORT folds gives the same bits as the one made in JavaScript, tensors not stored in the session's
// folder keep going inside the model's bytes, and a graph with a weight to convert goes through the cache.
import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bytesToFloat32, float32ToBf16Bytes, float32ToF16Bytes } from "@shortened/hf";
import { type ElemType, GraphBuilder, type Tensor } from "./builder.js";
import { createSession, ort } from "./session.js";
import { referStoredWeights } from "./stored-weights.js";

const K = 96;
const N = 40;
const values = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37) * 3 + 1e-3 * (i % 11));

/** A file of three tensors at odd offsets (F32, BF16, F16 copies of `values`), as a safetensors shard lays them. */
function storedFile(dir: string): Record<"F32" | "BF16" | "F16", { offset: number; bytes: Uint8Array }> {
  const f32 = new Uint8Array(values.buffer.slice(0));
  const parts = { F32: f32, BF16: float32ToBf16Bytes(values), F16: float32ToF16Bytes(values) };
  const out: Uint8Array[] = [new Uint8Array(13).fill(7)];
  let offset = 13;
  const at = {} as Record<"F32" | "BF16" | "F16", { offset: number; bytes: Uint8Array }>;
  for (const [k, bytes] of Object.entries(parts) as ["F32" | "BF16" | "F16", Uint8Array][]) {
    at[k] = { offset, bytes };
    out.push(bytes, new Uint8Array(3));
    offset += bytes.byteLength + 3;
  }
  writeFileSync(join(dir, "model.safetensors"), Buffer.concat(out));
  return at;
}

const STORED: Record<"F32" | "BF16" | "F16", ElemType> = { F32: "float32", BF16: "bfloat16", F16: "float16" };

/** y_k = x · W_kᵀ for W read from each stored copy, in float32 or (the F16 copy and F32 cast down) float16;
 *  `only32`: the F32 copy alone. */
function graph(dir: string, at: ReturnType<typeof storedFile>, only32 = false): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input("x", "float32", [3, K]);
  const weight = (name: string, key: "F32" | "BF16" | "F16", type: ElemType) => {
    const widened = bytesToFloat32(Buffer.from(at[key].bytes), key);
    const t: Tensor = {
      type,
      dims: [N, K],
      data: new Float32Array(0),
      read: () => (type === "float16" ? new Uint16Array(float32ToF16Bytes(widened).buffer) : widened.slice()),
      stored: { file: join(dir, "model.safetensors"), offset: at[key].offset, type: STORED[key] },
    };
    return g.initializer(name, t);
  };
  const linear = (w: string, half: boolean) => {
    const wt = g.node("Transpose", [w], { perm: [1, 0] });
    if (!half) return g.node("MatMul", [x, wt]);
    const x16 = g.node("Cast", [x], { to: 10 });
    return g.node("Cast", [g.node("MatMul", [x16, wt])], { to: 1 });
  };
  const outs = [linear(weight("w_f32", "F32", "float32"), false)];
  if (!only32)
    outs.push(
      linear(weight("w_bf16", "BF16", "float32"), false),
      linear(weight("w_f16", "F16", "float32"), false),
      linear(weight("w_f16_half", "F16", "float16"), true),
      linear(weight("w_f32_half", "F32", "float16"), true),
    );
  // A weight made in JavaScript (no file): it goes inside the model's bytes.
  g.initializer("bias", {
    type: "float32",
    dims: [N],
    data: Float32Array.from({ length: N }, (_, i) => i / 7),
  });
  outs.forEach((y, i) => {
    g.output(g.rename(g.node("Add", [y, "bias"]), `y${i}`), "float32", [3, N]);
  });
  // and one read directly (no Transpose, no Cast): the gathered rows
  g.output(g.rename(g.node("Gather", ["w_f32", g.int64s([5, 0, 39])], { axis: 0 }), "rows"), "float32", [
    3,
    K,
  ]);
  return g;
}

/** The graphs' one input, x[3, K], with x_i = f(i). */
function inputX(f: (i: number) => number): Record<string, ort.Tensor> {
  return {
    x: new ort.Tensor(
      "float32",
      Float32Array.from({ length: 3 * K }, (_, i) => f(i)),
      [3, K],
    ),
  };
}

function writtenBytes(): number {
  return Number(/wchar: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))![1]);
}

test("float32 weights reach ORT from their file: nothing written, the same bits as through JavaScript", async () => {
  const dir = mkdtempSync(join(tmpdir(), "stored-weights-"));
  try {
    const at = storedFile(dir);
    const feeds = inputX((i) => Math.cos(i) * 0.5);
    const inline = await createSession(graph(dir, at, true), { threads: 1 });
    const want = await inline.run(feeds);

    const graphDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith("shortened-graph-")).length;
    const dirsBefore = graphDirs();
    const before = writtenBytes();
    const stored = await createSession(graph(dir, at, true), { threads: 1, inlineLimitBytes: 0 });
    const written = writtenBytes() - before;
    assert.ok(written < values.byteLength, `${written} bytes written while the session was made`);
    assert.equal(graphDirs(), dirsBefore);
    const got = await stored.run(feeds);
    for (const name of ["y0", "rows"]) assert.deepEqual(got[name]!.data, want[name]!.data, `${name} differs`);
    await inline.release();
    await stored.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a checkpoint whose files are symlinks (a Hugging Face cache snapshot) is read where the files lie", async () => {
  const dir = mkdtempSync(join(tmpdir(), "stored-weights-"));
  try {
    // snapshot/model.safetensors -> ../blobs/<hash>, as huggingface_hub lays out its cache
    const at = storedFile(dir);
    mkdirSync(join(dir, "blobs"));
    mkdirSync(join(dir, "snapshot"));
    renameSync(join(dir, "model.safetensors"), join(dir, "blobs", "0123abcd"));
    symlinkSync(join("..", "blobs", "0123abcd"), join(dir, "snapshot", "model.safetensors"));
    const feeds = inputX((i) => Math.sin(i) * 0.5);
    const g = graph(join(dir, "snapshot"), at, true);
    assert.equal(referStoredWeights(g, 1 << 20), join(dir, "blobs"));
    assert.deepEqual(g.initializers.get("w_f32")!.external, { location: "0123abcd", offset: 13 });

    const inline = await createSession(graph(join(dir, "snapshot"), at, true), { threads: 1 });
    const stored = await createSession(graph(join(dir, "snapshot"), at, true), {
      threads: 1,
      inlineLimitBytes: 0,
    });
    const [want, got] = [await inline.run(feeds), await stored.run(feeds)];
    for (const name of ["y0", "rows"]) assert.deepEqual(got[name]!.data, want[name]!.data, `${name} differs`);
    await inline.release();
    await stored.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("referStoredWeights: one folder's float32 tensors become file references; others stay or nothing changes", () => {
  const dir = mkdtempSync(join(tmpdir(), "stored-weights-"));
  try {
    mkdirSync(join(dir, "other"));
    const at = storedFile(dir);
    const g = graph(dir, at, true);
    g.initializer("w_away", { ...g.initializers.get("w_f32")! });
    g.initializers.get("w_away")!.stored = {
      file: join(dir, "other", "model.safetensors"),
      offset: 1,
      type: "float32",
    };
    assert.equal(referStoredWeights(g, 1 << 20), dir);
    assert.deepEqual(g.initializers.get("w_f32")!.external, { location: "model.safetensors", offset: 13 });
    assert.equal(g.initializers.get("w_f32")!.read, undefined);
    assert.equal(g.initializers.get("w_away")!.external, undefined, "another folder's tensor keeps its read");
    assert.ok(g.initializers.get("w_away")!.read);

    // a weight to convert (BF16, F16 stored; float16 compute): the graph is left as it is
    const mixed = graph(dir, at);
    assert.equal(referStoredWeights(mixed, 1 << 20), null);
    assert.ok([...mixed.initializers.values()].every((t) => t.external === undefined));
    // too many bytes to go inside the model beside the references: nothing changes
    const h = graph(dir, at, true);
    assert.equal(referStoredWeights(h, 4 * N), null);
    assert.ok([...h.initializers.values()].every((t) => t.external === undefined));
    assert.equal(referStoredWeights(new GraphBuilder(), 1 << 20), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a graph with weights to convert computes the same bits through the converted-weights cache", async () => {
  const dir = mkdtempSync(join(tmpdir(), "stored-weights-"));
  try {
    const at = storedFile(dir);
    const feeds = inputX((i) => i / 50);
    const a = await createSession(graph(dir, at), { threads: 1 });
    const weightCache = { dir: join(dir, "cache"), maxBytes: 1 << 30 };
    const b = await createSession(graph(dir, at), { threads: 1, inlineLimitBytes: 0, weightCache });
    const [want, got] = [await a.run(feeds), await b.run(feeds)];
    for (const name of ["y0", "y1", "y2", "y3", "y4", "rows"])
      assert.deepEqual(got[name]!.data, want[name]!.data);
    await a.release();
    await b.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
