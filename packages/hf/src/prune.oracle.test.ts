// Golden test: our pruneCheckpoint against the float64 oracle's `prune --remove` on random checkpoints of
// every architecture, dtype, tie setting and a sharded layout (fixtures from scripts/fixtures/prune.sh): tensors
// byte for byte, config.json byte for byte (layer_types / max_window_layers rewritten), the oracle's warnings.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Checkpoint, INDEX_FILE } from "./checkpoint.js";
import { pruneCheckpoint } from "./prune.js";

const fixtures = new URL("./fixtures/prune/", import.meta.url).pathname;
const { cases } = JSON.parse(readFileSync(join(fixtures, "cases.json"), "utf8")) as { cases: string[] };
const work = mkdtempSync(join(tmpdir(), "hf-prune-oracle-"));
after(() => rmSync(work, { recursive: true, force: true }));

interface Expected {
  remove: number[];
  sharded: boolean;
  oracle_config: Record<string, unknown>;
  oracle_tensors: Record<string, { dtype: string; shape: number[]; sha256: string }>;
  copied_files: string[];
  oracle_warnings: string[];
  oracle_layer_types_after: string[] | null;
  oracle_max_window_layers_after: number | null;
}

describe("pruneCheckpoint matches oracle.py prune", () => {
  test("fixtures cover every architecture, dtype, tie setting and sharding", () => {
    const all = cases.join(" ");
    for (const s of [
      "llama",
      "mistral",
      "qwen2",
      "gemma",
      "qwen3",
      "gemma2",
      "gemma3_text",
      "phi3",
      "sliding",
      "llama3-rope",
      "f32",
      "f16",
      "bf16",
      "tied",
      "untied",
      "sharded",
    ]) {
      assert.ok(all.includes(s), s);
    }
  });

  for (const name of cases) {
    test(name, async () => {
      const expected = JSON.parse(readFileSync(join(fixtures, name, "expected.json"), "utf8")) as Expected;
      const model = join(fixtures, name, "model");
      const out = join(work, name);
      const result = await pruneCheckpoint({ model, remove: expected.remove, out });
      assert.deepEqual(
        result.removed,
        [...expected.remove].sort((a, b) => a - b),
      );
      assert.deepEqual(result.warnings, expected.oracle_warnings);
      assert.deepEqual(result.layerTypes ?? null, expected.oracle_layer_types_after);
      assert.deepEqual(result.maxWindowLayers ?? null, expected.oracle_max_window_layers_after);

      const pruned = Checkpoint.open(out);
      assert.equal(pruned.sharded, expected.sharded);
      const actual: Expected["oracle_tensors"] = {};
      for (const t of [...pruned.tensors.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        actual[t.name] = { dtype: t.dtype, shape: t.shape, sha256: sha256(pruned.readBytes(t.name)) };
      }
      assert.deepEqual(actual, expected.oracle_tensors);

      // config.json byte for byte: Python's json form (sorted keys, indent 2, 1e-06, 10000.0), as the oracle
      // and transformers' save_pretrained write it
      const configText = readFileSync(join(out, "config.json"), "utf8");
      assert.deepEqual(JSON.parse(configText), expected.oracle_config);
      assert.equal(configText, readFileSync(join(fixtures, name, "oracle-config.json"), "utf8"));

      // Non-weight files: exactly the oracle's, byte-identical to the source; plus our record and the index.
      const files = readdirSync(out).filter((f) => f !== "config.json" && !f.endsWith(".safetensors"));
      const ours = new Set(["pruning.json", ...(expected.sharded ? [INDEX_FILE] : [])]);
      assert.deepEqual(files.filter((f) => !ours.has(f)).sort(), expected.copied_files);
      for (const f of expected.copied_files) {
        assert.equal(sha256(readFileSync(join(out, f))), sha256(readFileSync(join(model, f))), f);
      }
      const record = JSON.parse(readFileSync(join(out, "pruning.json"), "utf8"));
      assert.deepEqual(record.removed_layers, result.removed);
      assert.deepEqual(record.warnings, expected.oracle_warnings);
    });
  }

  test("a shard whose blocks are all removed is dropped and the index is rewritten", () => {
    const out = join(work, "llama-f16-sharded-drops-shard");
    const shards = readdirSync(out)
      .filter((f) => f.endsWith(".safetensors"))
      .sort();
    assert.deepEqual(shards, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    const index = JSON.parse(readFileSync(join(out, INDEX_FILE), "utf8"));
    const ckpt = Checkpoint.open(out);
    let total = 0;
    for (const [name, file] of Object.entries(index.weight_map as Record<string, string>)) {
      const t = ckpt.tensors.get(name);
      assert.ok(t, name);
      assert.ok(t.file.endsWith(`/${file}`), name);
      total += t.byteLength;
    }
    assert.equal(Object.keys(index.weight_map).length, ckpt.tensors.size);
    assert.equal(index.metadata.total_size, total);
  });
});

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
