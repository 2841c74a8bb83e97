import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { parseConfig } from "./config.js";

const base = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  vocab_size: 256,
};

describe("readConfig class defaults (as transformers and the oracle)", () => {
  test("llama: MHA, head_dim = hidden/heads, untied, silu, eps 1e-6, theta 1e4", () => {
    const c = parseConfig({ ...base, model_type: "llama" });
    assert.equal(c.architecture, "LlamaForCausalLM");
    assert.equal(c.numKeyValueHeads, 8);
    assert.equal(c.headDim, 8);
    assert.equal(c.tieWordEmbeddings, false);
    assert.equal(c.hiddenAct, "silu");
    assert.equal(c.rmsNormEps, 1e-6);
    assert.equal(c.ropeTheta, 10000);
    assert.equal(c.maxPositionEmbeddings, 2048);
    assert.equal(c.slidingWindow, null);
    assert.deepEqual([c.attentionBias, c.mlpBias, c.qkvBias], [false, false, false]);
  });
  test("mistral: 8 KV heads, sliding window 4096 unless null", () => {
    const c = parseConfig({ ...base, model_type: "mistral" });
    assert.equal(c.numKeyValueHeads, 8);
    assert.equal(c.slidingWindow, 4096);
    assert.equal(parseConfig({ ...base, model_type: "mistral", sliding_window: null }).slidingWindow, null);
  });
  test("qwen2: 32 KV heads default, q/k/v biases", () => {
    const c = parseConfig({ ...base, num_attention_heads: 32, model_type: "qwen2" });
    assert.equal(c.numKeyValueHeads, 32);
    assert.equal(c.qkvBias, true);
    assert.equal(c.attentionBias, false);
  });
  test("gemma: tied, head_dim 256, 16 KV heads, gelu_pytorch_tanh unless hidden_activation, pad 0", () => {
    const c = parseConfig({ ...base, num_attention_heads: 16, model_type: "gemma", hidden_act: "gelu" });
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(c.headDim, 256);
    assert.equal(c.numKeyValueHeads, 16);
    assert.equal(c.hiddenAct, "gelu_pytorch_tanh");
    assert.equal(c.padTokenId, 0);
    assert.equal(
      parseConfig({ ...base, num_attention_heads: 16, model_type: "gemma", hidden_activation: "gelu" })
        .hiddenAct,
      "gelu",
    );
  });
  test("explicit keys win; model_type can come from architectures", () => {
    const c = parseConfig({
      ...base,
      architectures: ["Qwen2ForCausalLM"],
      num_key_value_heads: 2,
      tie_word_embeddings: true,
      rms_norm_eps: 1e-5,
      eos_token_id: [1, 2],
    });
    assert.equal(c.modelType, "qwen2");
    assert.equal(c.numKeyValueHeads, 2);
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(c.rmsNormEps, 1e-5);
    assert.deepEqual(c.eosTokenId, [1, 2]);
  });
  test("rope_scaling: absent, null, {} and default are the default", () => {
    for (const rope_scaling of [undefined, null, {}, { rope_type: "default" }])
      assert.deepEqual(parseConfig({ ...base, model_type: "llama", rope_scaling }).ropeScaling, {
        type: "default",
      });
  });
  test("unsupported model_type and broken values are UserErrors", () => {
    const bad = (raw: Record<string, unknown>, re: RegExp) =>
      assert.throws(
        () => parseConfig(raw),
        (e: unknown) => isUserError(e) && re.test(e.message),
      );
    bad(
      { ...base, model_type: "gpt2" },
      /unsupported model_type "gpt2" \(supported: llama, mistral, qwen2, gemma, qwen3, gemma2, gemma3_text, phi3\)/,
    );
    bad({ ...base }, /unsupported model_type null/);
    bad({ ...base, model_type: "llama", hidden_size: "64" }, /"hidden_size" must be a non-negative integer/);
    bad(
      { ...base, model_type: "llama", num_key_value_heads: 3 },
      /must be a multiple of num_key_value_heads/,
    );
  });
  test("bounds: each out-of-range value is refused naming the key and the value", () => {
    const bad = (extra: Record<string, unknown>, re: RegExp) =>
      assert.throws(
        () => parseConfig({ ...base, model_type: "llama", ...extra }),
        (e: unknown) => isUserError(e) && e.code === "invalid_checkpoint" && re.test(e.message),
      );
    bad(
      { num_hidden_layers: 1e9 },
      /"num_hidden_layers" must be an integer from 1 to 1024 \(got 1000000000\)/,
    );
    bad({ num_hidden_layers: 0 }, /"num_hidden_layers" must be an integer from 1/);
    bad({ hidden_size: 0 }, /"hidden_size" must be/);
    bad({ intermediate_size: 2 ** 40 }, /"intermediate_size" must be/);
    bad({ vocab_size: 1e12 }, /"vocab_size" must be/);
    bad({ max_position_embeddings: 0 }, /"max_position_embeddings" must be/);
    bad({ num_attention_heads: 5000 }, /"num_attention_heads" must be/);
    bad(
      { hidden_size: 60 },
      /"hidden_size" must be a multiple of num_attention_heads \(8\) when head_dim is not given \(got 60\)/,
    );
    bad({ head_dim: 7 }, /"head_dim" must be even/);
    bad({ rms_norm_eps: -1 }, /"rms_norm_eps" must be in \(0, 1\) \(got -1\)/);
    bad({ rms_norm_eps: 0 }, /"rms_norm_eps"/);
    bad({ rope_theta: 0 }, /"rope_theta" must be greater than 0 \(got 0\)/);
    bad(
      { hidden_act: "relu" },
      /"hidden_act" is not a supported activation \(supported: silu, .*\) \(got "relu"\)/,
    );
    assert.throws(
      () => parseConfig({ ...base, model_type: "mistral", sliding_window: -4 }),
      /"sliding_window" must be an integer from 1/,
    );
    assert.throws(
      () => parseConfig({ ...base, num_attention_heads: 16, model_type: "gemma", hidden_activation: "relu" }),
      /"hidden_activation" is not a supported activation/,
    );
    // an explicit head_dim frees hidden_size from divisibility (as Gemma-7B: 16 heads of 256 over 3072)
    assert.equal(parseConfig({ ...base, model_type: "llama", hidden_size: 60, head_dim: 8 }).headDim, 8);
  });
});
