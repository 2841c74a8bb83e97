// The later families' configs (qwen3, gemma2, gemma3_text, phi3), RoPE scaling and per-layer attention, as
// transformers 4.57.6 reads them (the oracle's Cfg), and the refusals: every unknown value named with its key.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { parseConfig } from "./config.js";

const base = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 6,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 256,
};
const refused = (raw: Record<string, unknown>, re: RegExp) =>
  assert.throws(
    () => parseConfig(raw),
    (e: unknown) => isUserError(e) && re.test((e as Error).message),
    `expected ${re}`,
  );

describe("class defaults of the later families", () => {
  test("qwen3: head_dim 128, bias on q, k, v and o from attention_bias, no window unless use_sliding_window", () => {
    const c = parseConfig({ ...base, model_type: "qwen3", attention_bias: true });
    assert.equal(c.headDim, 128);
    assert.deepEqual([c.qkvBias, c.attentionBias], [true, true]);
    assert.deepEqual(c.layerWindows, [null, null, null, null, null, null]);
    assert.equal(c.queryPreAttnScalar, null);
  });
  test("gemma2: tied, 4 KV heads, even layers slide (4096), softcaps 50 / 30, query_pre_attn_scalar 256", () => {
    const c = parseConfig({ ...base, model_type: "gemma2", num_key_value_heads: undefined });
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(c.numKeyValueHeads, 4);
    assert.equal(c.headDim, 256);
    assert.deepEqual(c.layerWindows, [4096, null, 4096, null, 4096, null]);
    assert.deepEqual([c.attnLogitSoftcapping, c.finalLogitSoftcapping, c.queryPreAttnScalar], [50, 30, 256]);
    assert.equal(c.padTokenId, 0);
    assert.equal(c.hiddenAct, "gelu_pytorch_tanh");
  });
  test("gemma3_text: θ 1e6, local θ 1e4, pattern 6 (every 6th layer global), no softcaps", () => {
    const c = parseConfig({ ...base, model_type: "gemma3_text", attn_logit_softcapping: 7 });
    assert.equal(c.ropeTheta, 1e6);
    assert.equal(c.ropeLocalTheta, 1e4);
    assert.deepEqual(c.layerTypes, [...Array(5).fill("sliding_attention"), "full_attention"]);
    assert.deepEqual([c.attnLogitSoftcapping, c.finalLogitSoftcapping], [null, null]);
    const p3 = parseConfig({ ...base, model_type: "gemma3_text", sliding_window_pattern: 3 });
    assert.deepEqual(p3.layerWindows, [4096, 4096, null, 4096, 4096, null]);
  });
  test("phi3: eps 1e-5, MHA default, no biases, original_max_position_embeddings 4096, pad 32000 only in vocab", () => {
    const c = parseConfig({
      ...base,
      model_type: "phi3",
      attention_bias: true,
      num_key_value_heads: undefined,
    });
    assert.equal(c.rmsNormEps, 1e-5);
    assert.equal(c.numKeyValueHeads, 4);
    assert.deepEqual([c.qkvBias, c.attentionBias], [false, false]);
    assert.equal(c.originalMaxPositionEmbeddings, 4096);
    assert.equal(c.padTokenId, undefined);
    assert.equal(parseConfig({ ...base, model_type: "phi3", vocab_size: 32064 }).padTokenId, 32000);
    assert.equal(parseConfig({ ...base, model_type: "phi3", partial_rotary_factor: 0.5 }).rotaryDim, 8);
  });
});

describe("per-layer sliding windows", () => {
  test("qwen2: layer i slides iff use_sliding_window and i ≥ max_window_layers; else none (was ignored)", () => {
    const c = parseConfig({
      ...base,
      model_type: "qwen2",
      use_sliding_window: true,
      sliding_window: 5,
      max_window_layers: 4,
    });
    assert.deepEqual(c.layerWindows, [null, null, null, null, 5, 5]);
    assert.deepEqual(
      parseConfig({ ...base, model_type: "qwen2", sliding_window: 5 }).layerWindows,
      Array(6).fill(null),
    );
  });
  test("explicit layer_types win; a sliding layer without use_sliding_window is an error, as in transformers", () => {
    const lt = [
      "sliding_attention",
      "full_attention",
      "full_attention",
      "sliding_attention",
      "full_attention",
      "full_attention",
    ];
    const c = parseConfig({
      ...base,
      model_type: "qwen3",
      use_sliding_window: true,
      sliding_window: 3,
      layer_types: lt,
    });
    assert.deepEqual(c.layerWindows, [3, null, null, 3, null, null]);
    refused(
      { ...base, model_type: "qwen3", layer_types: lt },
      /"layer_types" has sliding layers but "use_sliding_window" is false/,
    );
    refused(
      { ...base, model_type: "gemma2", layer_types: [...lt.slice(0, 5), "chunked_attention"] },
      /"layer_types" entries \["chunked_attention"\] are not supported/,
    );
    refused(
      { ...base, model_type: "gemma2", layer_types: lt.slice(0, 3) },
      /"layer_types" must be a list of num_hidden_layers \(6\)/,
    );
  });
});

describe("rope_scaling", () => {
  test("every type is read with its keys; the legacy `type` key wins for llama, qwen2, qwen3", () => {
    const llama3 = {
      rope_type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    assert.deepEqual(parseConfig({ ...base, model_type: "llama", rope_scaling: llama3 }).ropeScaling, {
      type: "llama3",
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    const c = parseConfig({
      ...base,
      model_type: "qwen2",
      rope_scaling: { type: "yarn", rope_type: "linear", factor: 4 },
    });
    assert.equal(c.ropeScaling.type, "yarn");
    assert.deepEqual(
      parseConfig({ ...base, model_type: "mistral", rope_scaling: { type: "dynamic", factor: 2 } })
        .ropeScaling,
      {
        type: "dynamic",
        factor: 2,
      },
    );
  });
  test("phi3: exactly type, short_factor, long_factor; su means longrope; lists of rotary_dim/2", () => {
    const lr = { type: "su", short_factor: [1, 1, 1, 1, 1, 1, 1, 1], long_factor: [2, 2, 2, 2, 2, 2, 2, 2] };
    assert.equal(parseConfig({ ...base, model_type: "phi3", rope_scaling: lr }).ropeScaling.type, "longrope");
    refused(
      { ...base, model_type: "phi3", rope_scaling: { ...lr, factor: 2 } },
      /exactly the keys "type", "short_factor" and "long_factor"/,
    );
    refused(
      { ...base, model_type: "phi3", rope_scaling: { ...lr, short_factor: [1, 1] } },
      /"rope_scaling.short_factor" must have 8 entries/,
    );
  });
  test("refusals name the key and the value", () => {
    refused(
      { ...base, model_type: "llama", rope_scaling: { rope_type: "ntk-by-parts", factor: 2 } },
      /"rope_scaling.rope_type" "ntk-by-parts" .*is not supported/,
    );
    refused(
      { ...base, model_type: "llama", rope_scaling: { rope_type: "llama3", factor: 8 } },
      /lacks "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"/,
    );
    refused(
      { ...base, model_type: "llama", rope_scaling: { rope_type: "linear", factor: "2" } },
      /"rope_scaling.factor" must be a positive number \(got "2"\)/,
    );
    refused(
      { ...base, model_type: "llama", rope_parameters: { rope_type: "default", rope_theta: 10000 } },
      /"rope_parameters": \{"rope_type":"default","rope_theta":10000\} is not supported/,
    );
    refused(
      { ...base, model_type: "gemma3_text", use_bidirectional_attention: true },
      /"use_bidirectional_attention": true is not supported/,
    );
    refused(
      { ...base, model_type: "llama", partial_rotary_factor: 0.5 },
      /"partial_rotary_factor" 0.5 is not supported for llama/,
    );
    refused({ ...base, model_type: "gemma3" }, /model_type "gemma3" is the multimodal/);
  });
});
