// The converted-weights cache: bounded with least-recently-used eviction, nothing left by a process killed while
// writing, a reader's entry kept through an eviction, and a session over converted weights written once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { GraphBuilder } from "./builder.js";
import { createSession, ort } from "./session.js";
import { useCacheEntries, type WeightCache } from "./weight-cache.js";

function tempCache(maxBytes: number): WeightCache {
  return { dir: mkdtempSync(join(tmpdir(), "weight-cache-")), maxBytes };
}
const entries = (c: WeightCache) =>
  readdirSync(c.dir)
    .filter((n) => n.endsWith(".data"))
    .sort();
const put = (c: WeightCache, key: string, bytes: number) =>
  useCacheEntries(c, [
    { key, bytes, write: (path) => writeFileSync(path, Buffer.alloc(bytes, key.charCodeAt(0))) },
  ]);

test("entries stay under the bound: the least recently used go first; one larger than the bound is not cached", async () => {
  const c = tempCache(100);
  try {
    put(c, "a", 40)!.release();
    await new Promise((r) => setTimeout(r, 20));
    put(c, "b", 40)!.release();
    await new Promise((r) => setTimeout(r, 20));
    const again = put(c, "a", 40)!; // a hit: used again, nothing written
    assert.equal(again.wroteBytes, 0);
    again.release();
    put(c, "c", 40)!.release();
    assert.deepEqual(entries(c), ["a.data", "c.data"]);
    assert.equal(put(c, "d", 101), null);
    assert.deepEqual(entries(c), ["a.data", "c.data"]);
    assert.deepEqual(readdirSync(c.dir).sort(), ["a.data", "c.data"], "use folders are released");
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
});

test("a reader keeps its entry when another process evicts it", () => {
  const c = tempCache(100);
  try {
    const use = put(c, "a", 60)!;
    put(c, "b", 60)!.release(); // evicts a
    assert.deepEqual(entries(c), ["b.data"]);
    assert.deepEqual(readFileSync(join(use.folder, "a.data")), Buffer.alloc(60, "a".charCodeAt(0)));
    use.release();
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
});

test("a process killed while writing an entry leaves no entry, and its partial file is removed", async () => {
  const c = tempCache(1 << 20);
  try {
    const module = fileURLToPath(new URL("./weight-cache.ts", import.meta.url));
    const code = `
      import { writeFileSync } from "node:fs";
      import { useCacheEntries } from ${JSON.stringify(module)};
      useCacheEntries(${JSON.stringify(c)}, [{ key: "k", bytes: 1000, write: (path) => {
        writeFileSync(path, Buffer.alloc(500));
        console.log("writing");
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never finishes
      } }]);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => String(d).includes("writing") && resolve());
      child.on("exit", (code) => reject(new Error(`child exited (${code}) before writing`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    assert.deepEqual(entries(c), []);
    assert.deepEqual(
      readdirSync(c.dir).filter((n) => !n.startsWith("use-")),
      [`k.data.tmp-${child.pid}`],
    );
    const use = put(c, "k", 1000)!;
    assert.equal(use.wroteBytes, 1000);
    use.release();
    assert.deepEqual(readdirSync(c.dir), ["k.data"]);
    assert.equal(readFileSync(join(c.dir, "k.data")).length, 1000);
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
});

test("converted weights are written once; the next session, another graph, reads the cache, same bits", async () => {
  const c = tempCache(1 << 30);
  try {
    const W = Float32Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i));
    /** `bias`: a second graph, with a large tensor made in JavaScript beside the same weight */
    const graph = (bias = false) => {
      const g = new GraphBuilder();
      const x = g.input("x", "float32", [2, 32]);
      let reads = 0;
      const t = { type: "float32" as const, dims: [64, 32], data: new Float32Array(0), contentKey: "W v1" };
      g.initializer("w", {
        ...t,
        read: () => {
          reads++;
          return W.slice();
        },
      });
      let y = g.node("MatMul", [x, g.node("Transpose", ["w"])]);
      if (bias) {
        g.initializer("b", { type: "float32", dims: [2, 64], data: new Float32Array(128) });
        y = g.node("Add", [y, "b"]);
      }
      g.output(g.rename(y, "y"), "float32", [2, 64]);
      return { g, reads: () => reads };
    };
    const feeds = {
      x: new ort.Tensor(
        "float32",
        Float32Array.from({ length: 64 }, (_, i) => i / 9),
        [2, 32],
      ),
    };
    const first = graph();
    const a = await createSession(first.g, { threads: 1, inlineLimitBytes: 0, weightCache: c });
    assert.equal(first.reads(), 1);
    assert.equal(entries(c).length, 1);
    const second = graph(true);
    const b = await createSession(second.g, { threads: 1, inlineLimitBytes: 0, weightCache: c });
    assert.equal(second.reads(), 0, "the second session reads no weight in JavaScript");
    assert.equal(entries(c).length, 1);
    assert.deepEqual((await b.run(feeds)).y!.data, (await a.run(feeds)).y!.data);
    assert.equal(readdirSync(c.dir).length, 1, "no use folder left");
    await a.release();
    await b.release();
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
});
