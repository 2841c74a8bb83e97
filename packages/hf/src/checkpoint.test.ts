import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { Checkpoint, INDEX_FILE, layerWeight, parseLayerName } from "./checkpoint.js";
import { halfToFloat } from "./dtypes.js";

const demo = new URL("../../../models/tinystories-llama-8L", import.meta.url).pathname;
const fixtures = new URL("./fixtures/prune/", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "hf-checkpoint-"));
after(() => rmSync(work, { recursive: true, force: true }));

function userError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isUserError(e) && re.test(e.message));
}

describe("Checkpoint", () => {
  test("opens the demo model: config, 75 tensors, parameters without the tied lm_head copy", () => {
    const c = Checkpoint.open(demo);
    assert.equal(c.sharded, false);
    assert.equal(c.config.numHiddenLayers, 8);
    assert.equal(c.config.tieWordEmbeddings, true);
    assert.equal(c.tensors.size, 75);
    assert.equal(c.parameterCount(), 396_352);
    assert.ok(c.has(layerWeight(7, "mlp.down_proj.weight")));
    assert.deepEqual(c.entry("model.embed_tokens.weight").shape, [512, 64]);
    const w = c.readFloat32("model.norm.weight");
    const b = c.readBytes("model.norm.weight");
    assert.deepEqual(w, new Float32Array(b.buffer, b.byteOffset, 64));
    // lm_head is stored as an exact copy of the embedding in this model
    assert.deepEqual(c.readBytes("lm_head.weight"), c.readBytes("model.embed_tokens.weight"));
  });

  test("opens a sharded checkpoint through its index and widens F16", () => {
    const c = Checkpoint.open(join(fixtures, "llama-f16-sharded-drops-shard/model"));
    assert.equal(c.sharded, true);
    assert.equal(c.files.length, 3);
    assert.ok(c.entry("lm_head.weight").file.endsWith("model-00003-of-00003.safetensors"));
    const t = c.entry(layerWeight(3, "self_attn.q_proj.weight"));
    assert.equal(t.dtype, "F16");
    const v = c.readFloat32(t.name);
    assert.equal(v.length, t.byteLength / 2);
    const raw = c.readBytes(t.name);
    assert.equal(v[5], halfToFloat(raw.readUInt16LE(10)));
    assert.ok(v.every(Number.isFinite) && v.some((x) => x !== 0));
  });

  test("layer names", () => {
    assert.equal(layerWeight(3, "self_attn.q_proj.weight"), "model.layers.3.self_attn.q_proj.weight");
    assert.deepEqual(parseLayerName("model.layers.12.mlp.up_proj.weight"), {
      layer: 12,
      suffix: "mlp.up_proj.weight",
    });
    assert.equal(parseLayerName("model.norm.weight"), null);
  });

  test("bad folders are UserErrors", () => {
    userError(() => Checkpoint.open(join(work, "none")), /does not exist/);
    const noWeights = join(work, "no-weights");
    cpSync(demo, noWeights, { recursive: true });
    unlinkSync(join(noWeights, "model.safetensors"));
    userError(() => Checkpoint.open(noWeights), /no model.safetensors or model.safetensors.index.json/);

    const sharded = join(work, "missing-shard");
    cpSync(join(fixtures, "qwen2-bf16-sharded/model"), sharded, { recursive: true });
    unlinkSync(join(sharded, "model-00002-of-00002.safetensors"));
    userError(() => Checkpoint.open(sharded), /missing shard model-00002-of-00002.safetensors/);

    const badIndex = join(work, "bad-index");
    cpSync(join(fixtures, "qwen2-bf16-sharded/model"), badIndex, { recursive: true });
    writeFileSync(
      join(badIndex, INDEX_FILE),
      JSON.stringify({ weight_map: { "model.norm.weight": "model-00001-of-00002.safetensors" } }),
    );
    userError(() => Checkpoint.open(badIndex), /puts model.norm.weight in model-00001-of-00002.safetensors/);

    const fewer = join(work, "fewer-layers");
    cpSync(demo, fewer, { recursive: true });
    writeFileSync(
      join(fewer, "config.json"),
      JSON.stringify({ ...Checkpoint.open(demo).config.raw, num_hidden_layers: 6 }),
    );
    userError(
      () => Checkpoint.open(fewer),
      /belongs to block [67], but config.json says num_hidden_layers is 6/,
    );
  });
});
