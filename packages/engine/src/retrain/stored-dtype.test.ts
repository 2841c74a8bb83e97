// Stored dtype in, stored dtype out: CPT and merge of a BF16 checkpoint write BF16 (config dtype bfloat16), the
// trained/merged float32 values rounded to nearest even; training state and adapters stay float32.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { bytesToFloat32, Checkpoint, float32ToBf16Bytes, readTensorFile } from "@shortened/hf";
import { trainCpt } from "./cpt.js";
import { initAdapter, loraSpec, writeAdapter } from "./lora-adapter.js";
import { mergedTensor, mergeLora } from "./merge.js";

const bf16Model = fileURLToPath(
  new URL("../../../hf/src/fixtures/prune/llama-bf16-h32/model", import.meta.url),
);
const work = mkdtempSync(join(tmpdir(), "stored-dtype-"));
after(() => rmSync(work, { recursive: true, force: true }));
const bf16 = (x: Float32Array) => bytesToFloat32(float32ToBf16Bytes(x), "BF16");

test("CPT of a BF16 checkpoint writes BF16 (the trained weights moved, rounded to nearest even)", async () => {
  const src = Checkpoint.open(bf16Model);
  const ids = [Array.from({ length: 12 }, (_, i) => (i * 7) % src.config.vocabSize)];
  const r = await trainCpt({
    model: bf16Model,
    rows: { ids, labels: ids, source: "test" },
    out: join(work, "cpt"),
    steps: 2,
    batch: 1,
    gradAccum: 1,
    lr: 1e-2,
    warmup: 0,
    schedule: "constant",
    maxGradNorm: 0,
    weightDecay: 0,
    threads: 1,
  });
  assert.equal(r.dtype, "BF16");
  const out = Checkpoint.open(r.out);
  const config = JSON.parse(readFileSync(join(r.out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config.torch_dtype ?? config.dtype, "bfloat16");
  let moved = 0;
  for (const t of out.tensors.values()) {
    assert.equal(t.dtype, "BF16", t.name);
    const a = out.readFloat32(t.name);
    const b = src.readFloat32(t.name);
    assert.deepEqual(bf16(a), a, `${t.name} holds BF16 values`);
    if (a.some((v, i) => v !== b[i])) moved++;
  }
  assert.ok(moved > 0, "training changed the weights");
});

test("merge onto a BF16 base writes BF16: the float32 merge rounded to nearest even", async () => {
  const src = Checkpoint.open(bf16Model);
  const spec = loraSpec(src.config, 2, 4, ["q_proj", "down_proj"]);
  const adapter = initAdapter(spec, 5);
  for (const [name, t] of adapter) {
    if (name.includes("lora_B")) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.01 * Math.sin(i + 1);
  }
  const adapterDir = join(work, "adapter");
  mkdirSync(adapterDir);
  writeAdapter(adapterDir, spec, adapter, bf16Model);
  assert.equal(readTensorFile(join(adapterDir, "adapter_model.safetensors")).size, adapter.size);
  const r = await mergeLora({ model: bf16Model, adapter: adapterDir, out: join(work, "merged") });
  assert.equal(r.dtype, "BF16");
  const out = Checkpoint.open(r.out);
  for (const t of out.tensors.values()) {
    assert.equal(t.dtype, "BF16", t.name);
    const want =
      mergedTensor(spec, adapter, t.name, () => src.readFloat32(t.name)) ?? src.readFloat32(t.name);
    assert.deepEqual(out.readFloat32(t.name), bf16(want), t.name);
  }
});
