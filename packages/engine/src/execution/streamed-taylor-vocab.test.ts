// Float16 Taylor+ over a 32k vocabulary: each logit's gradient w_t (softmax − onehot) is mostly a probability near
// 1/32000 = 3.1e-5, below float16's smallest normal (6.1e-5), so the head's product takes it as a subnormal (fewer
// significant bits) or, for the far tail of a peaked softmax, as zero. Whether scores are lost that way: streamed
// float16 scores against float32 on random models of vocabulary 32000, one with a flat softmax (every probability
// subnormal in float16) and one with a peaked one (head weights 40x larger: loss ~26 nats, most probabilities far
// below float16's range). Both stay within the oracle's float16 backward tolerance 4u√(2D)
// (../test-support/half-tolerance.ts), 1.0e-2 for 2 blocks; measured 2026-12-05: at most 2.7e-4 (flat) and 4.0e-4
// (peaked) per weight, 7.2e-5 and 1.8e-4 per block.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { writeSafetensors } from "@shortened/hf";
import { openCheckpoint } from "../models/weights.js";
import { halfTolerance } from "../test-support/half-tolerance.js";
import { rel } from "../test-support/train-fixtures.js";
import { StreamedModel } from "./streamed-model.js";
import { streamedTaylorImportance } from "./streamed-taylor.js";

const V = 32000;
const H = 32;
const I = 64;
const L = 2;
const KV = 2 * 8; // 2 key/value heads of head dim 8
const tmp = mkdtempSync(join(tmpdir(), "taylor-vocab-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A random LLaMA of vocabulary 32000 (weights N(0, 0.02²), the head's times `headScale`), in a folder. */
function randomModel(name: string, headScale: number): string {
  let seed = 1234;
  const uniform = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed + 0.5) / 2 ** 31;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const tensor = (tname: string, shape: number[], fill: () => number) => {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, fill);
    return { name: tname, dtype: "F32" as const, shape, data: new Uint8Array(data.buffer) };
  };
  const w = (tname: string, shape: number[], scale = 1) =>
    tensor(tname, shape, () => 0.02 * scale * normal());
  const ones = (tname: string) => tensor(tname, [H], () => 1);
  const tensors = [w("model.embed_tokens.weight", [V, H]), w("lm_head.weight", [V, H], headScale)];
  tensors.push(ones("model.norm.weight"));
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(ones(`${p}input_layernorm.weight`), ones(`${p}post_attention_layernorm.weight`));
    tensors.push(w(`${p}self_attn.q_proj.weight`, [H, H]), w(`${p}self_attn.k_proj.weight`, [KV, H]));
    tensors.push(w(`${p}self_attn.v_proj.weight`, [KV, H]), w(`${p}self_attn.o_proj.weight`, [H, H]));
    tensors.push(w(`${p}mlp.gate_proj.weight`, [I, H]), w(`${p}mlp.up_proj.weight`, [I, H]));
    tensors.push(w(`${p}mlp.down_proj.weight`, [H, I]));
  }
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  const config = {
    model_type: "llama",
    hidden_size: H,
    intermediate_size: I,
    num_hidden_layers: L,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: V,
    max_position_embeddings: 64,
    tie_word_embeddings: false,
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

/** calibration: 2 rows of 16 token ids, one batch */
const calib = Array.from({ length: 2 * 16 }, (_, k) => (k * 7919 + 13) % V);

async function scores(dir: string, dtype: "float32" | "float16") {
  const ckpt = openCheckpoint(dir);
  const model = await StreamedModel.open(ckpt, { threads: 1, maxSeqLen: 16, dtype });
  try {
    return await streamedTaylorImportance(model, { flat: calib, rows: 2, seqLen: 16 }, { batchSize: 2 });
  } finally {
    await model.release();
  }
}

for (const [name, headScale] of [
  ["flat", 1],
  ["peaked", 40],
] as const) {
  test(`float16 Taylor+ over a 32k vocabulary (${name} softmax) keeps the float32 scores`, async () => {
    const dir = randomModel(name, headScale);
    const [f32, f16] = [await scores(dir, "float32"), await scores(dir, "float16")];
    // the typical probability sits below float16's smallest normal: e^-loss < 6.1e-5
    assert.ok(f32.batchLosses[0]! > -Math.log(2 ** -14), `loss ${f32.batchLosses[0]}`);
    const tol = halfTolerance(L, true);
    f16.weightScores.forEach(([k, v], i) => {
      const ref = f32.weightScores[i]![1];
      assert.ok(v > 0 && rel(v, ref) <= tol, `${k}: float16 ${v} vs float32 ${ref}`);
    });
    f16.blockScores.forEach((v, i) => {
      assert.ok(rel(v, f32.blockScores[i]!) <= tol, `block ${i}`);
    });
    // float16 indeed: not the float32 run again
    assert.ok(f16.weightScores.some(([, v], i) => rel(v, f32.weightScores[i]![1]) > 1e-6));
  });
}
