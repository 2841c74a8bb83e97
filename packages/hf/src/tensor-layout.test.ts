// Tensors against the config: each family's layout, and a checkpoint whose tensors the config does not explain
// (an extra q_norm, a missing or reshaped tensor, an integer weight) refused at open with the tensor's name.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { Checkpoint } from "./checkpoint.js";
import { parseConfig } from "./config.js";
import type { StoredDtype } from "./dtypes.js";
import { type TensorData, tensorByteLength, writeSafetensors } from "./safetensors-writer.js";
import { blockTensorLayout, tensorLayout } from "./tensor-layout.js";

const work = mkdtempSync(join(tmpdir(), "hf-tensor-layout-"));
after(() => rmSync(work, { recursive: true, force: true }));

const llamaRaw = {
  model_type: "llama",
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 40,
};

type Spec = { name: string; shape: number[]; dtype?: StoredDtype };

let n = 0;
/** A checkpoint folder with `raw` as config.json and zero-filled tensors of these names and shapes. */
function folder(raw: Record<string, unknown>, tensors: Spec[]): string {
  const dir = join(work, `m${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify(raw));
  const data: TensorData[] = tensors.map((t) => {
    const spec = { name: t.name, shape: t.shape, dtype: t.dtype ?? ("F32" as const) };
    return { ...spec, data: new Uint8Array(tensorByteLength(spec)) };
  });
  writeSafetensors(join(dir, "model.safetensors"), data);
  return dir;
}

function refused(dir: string, re: RegExp): void {
  assert.throws(
    () => Checkpoint.open(dir),
    (e: unknown) => isUserError(e) && e.code === "invalid_checkpoint" && re.test(e.message),
  );
}

describe("tensor layout", () => {
  test("per family: llama bias keys, qwen2 q/k/v biases, gemma without MLP bias", () => {
    const suffixes = (raw: Record<string, unknown>) =>
      blockTensorLayout(parseConfig(raw)).map((t) => t.suffix);
    assert.deepEqual(suffixes(llamaRaw), [
      "self_attn.q_proj.weight",
      "self_attn.k_proj.weight",
      "self_attn.v_proj.weight",
      "self_attn.o_proj.weight",
      "mlp.gate_proj.weight",
      "mlp.up_proj.weight",
      "mlp.down_proj.weight",
      "input_layernorm.weight",
      "post_attention_layernorm.weight",
    ]);
    assert.equal(suffixes({ ...llamaRaw, attention_bias: true, mlp_bias: true }).length, 16);
    assert.deepEqual(
      suffixes({ ...llamaRaw, model_type: "qwen2" }).filter((s) => s.endsWith(".bias")),
      ["self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"],
    );
    assert.equal(suffixes({ ...llamaRaw, model_type: "gemma", head_dim: 4, mlp_bias: true }).length, 9);
    const shapes = new Map(tensorLayout(parseConfig(llamaRaw)).map((t) => [t.name, t.shape]));
    assert.deepEqual(shapes.get("model.layers.1.self_attn.k_proj.weight"), [8, 16]);
    assert.deepEqual(shapes.get("model.layers.0.mlp.down_proj.weight"), [16, 32]);
    assert.deepEqual(shapes.get("lm_head.weight"), [40, 16]);
    assert.equal(shapes.size, 2 * 9 + 3);
  });

  const good = tensorLayout(parseConfig(llamaRaw));

  test("a checkpoint with exactly the layout opens; tolerated extras: inv_freq and a tied head's copy", () => {
    assert.equal(Checkpoint.open(folder(llamaRaw, good)).tensors.size, good.length);
    const withInvFreq = [...good, { name: "model.layers.0.self_attn.rotary_emb.inv_freq", shape: [2] }];
    assert.equal(Checkpoint.open(folder(llamaRaw, withInvFreq)).tensors.size, good.length + 1);
    const tied = { ...llamaRaw, tie_word_embeddings: true };
    assert.equal(Checkpoint.open(folder(tied, good)).tensors.size, good.length);
    const tiedOnly = good.filter((t) => t.name !== "lm_head.weight");
    assert.equal(Checkpoint.open(folder(tied, tiedOnly)).tensors.size, good.length - 1);
  });

  test("a tensor the config does not explain (q_norm in a llama checkpoint) is refused", () => {
    refused(
      folder(llamaRaw, [...good, { name: "model.layers.0.self_attn.q_norm.weight", shape: [4] }]),
      /tensor model.layers.0.self_attn.q_norm.weight is not part of a llama model with this config.json/,
    );
    refused(folder(llamaRaw, [...good, { name: "extra", shape: [1] }]), /tensor extra is not part/);
    refused(
      folder(llamaRaw, [...good, { name: "model.layers.2.mlp.up_proj.weight", shape: [32, 16] }]),
      /belongs to block 2, but config.json says num_hidden_layers is 2/,
    );
  });

  test("missing, reshaped and non-float tensors are refused", () => {
    refused(
      folder(
        llamaRaw,
        good.filter((t) => t.name !== "model.layers.1.self_attn.v_proj.weight"),
      ),
      /tensor model.layers.1.self_attn.v_proj.weight is missing/,
    );
    refused(
      folder(
        llamaRaw,
        good.filter((t) => t.name !== "lm_head.weight"),
      ),
      /lm_head.weight is missing/,
    );
    refused(
      folder(
        llamaRaw,
        good.map((t) => (t.name === "model.norm.weight" ? { ...t, shape: [17] } : t)),
      ),
      /tensor model.norm.weight has shape \[17\], but config.json implies \[16\]/,
    );
    refused(
      folder(
        llamaRaw,
        good.map((t) => (t.name === "model.norm.weight" ? { ...t, dtype: "I32" as const } : t)),
      ),
      /tensor model.norm.weight is I32, not a float type/,
    );
    // the config says more than the tensors hold
    refused(
      folder({ ...llamaRaw, intermediate_size: 48 }, good),
      /has shape \[32, 16\], but config.json implies \[48, 16\]/,
    );
  });

  test("an empty header is a checkpoint without tensors: refused by name, not a crash", () => {
    refused(folder(llamaRaw, []), /tensor model.embed_tokens.weight is missing/);
  });

  test("config.json nested 200,000 deep, too large or not UTF-8 is a clean error", () => {
    const dir = folder(llamaRaw, good);
    writeFileSync(
      join(dir, "config.json"),
      `{"model_type":"llama","x":${"[".repeat(200_000)}${"]".repeat(200_000)}}`,
    );
    refused(dir, /config.json nests objects or arrays more than 32 levels deep/);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...llamaRaw, pad: "x".repeat(2 << 20) }));
    refused(dir, /config.json is larger than the 1048576 bytes accepted/);
    writeFileSync(join(dir, "config.json"), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
    refused(dir, /config.json is not valid UTF-8/);
  });
});
