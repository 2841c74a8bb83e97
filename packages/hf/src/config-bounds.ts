// Bounds on a parsed config, checked before anything is sized from it: a config that says 1e9 layers or a
// zero rope_theta is refused with the key and its value, instead of exhausting memory or computing NaN.
// The limits are generous (several times the largest public models) and only exclude what cannot be a model.
import { UserError } from "@shortened/contracts";
import { GEMMA_FAMILY, type ModelConfig } from "./config.js";

/** Inclusive [min, max] for each integer dimension, by config.json key. */
export const CONFIG_BOUNDS: Readonly<Record<string, readonly [number, number]>> = {
  num_hidden_layers: [1, 1024],
  hidden_size: [1, 131_072],
  intermediate_size: [1, 1_048_576],
  num_attention_heads: [1, 1024],
  num_key_value_heads: [1, 1024],
  head_dim: [2, 4096],
  vocab_size: [1, 16_777_216],
  max_position_embeddings: [1, 134_217_728],
  sliding_window: [1, 134_217_728],
};

/** The MLP activations the forward graph implements (packages/engine models/mlp.ts). */
export const SUPPORTED_ACTIVATIONS: readonly string[] = [
  "silu",
  "swish",
  "gelu",
  "gelu_pytorch_tanh",
  "gelu_new",
  "gelu_fast",
];

/** `headDimGiven`: head_dim comes from config.json or the class defaults, not from hidden_size / heads. */
export function checkConfigBounds(c: ModelConfig, headDimGiven: boolean, where: string): void {
  const bad = (key: string, value: unknown, why: string): UserError =>
    new UserError("invalid_checkpoint", `${where}: "${key}" ${why} (got ${JSON.stringify(value)})`);
  const dims: [string, number | null][] = [
    ["num_hidden_layers", c.numHiddenLayers],
    ["hidden_size", c.hiddenSize],
    ["intermediate_size", c.intermediateSize],
    ["num_attention_heads", c.numAttentionHeads],
    ["num_key_value_heads", c.numKeyValueHeads],
    ["head_dim", c.headDim],
    ["vocab_size", c.vocabSize],
    ["max_position_embeddings", c.maxPositionEmbeddings],
    ["sliding_window", c.slidingWindow],
  ];
  for (const [key, value] of dims) {
    if (value === null) continue;
    const [min, max] = CONFIG_BOUNDS[key]!;
    if (!Number.isInteger(value) || value < min || value > max)
      throw bad(key, value, `must be an integer from ${min} to ${max}`);
  }
  if (!headDimGiven && c.hiddenSize % c.numAttentionHeads !== 0) {
    throw bad(
      "hidden_size",
      c.hiddenSize,
      `must be a multiple of num_attention_heads (${c.numAttentionHeads}) when head_dim is not given`,
    );
  }
  if (c.headDim % 2 !== 0) throw bad("head_dim", c.headDim, "must be even (RoPE rotates pairs)");
  if (!(c.rmsNormEps > 0 && c.rmsNormEps < 1)) throw bad("rms_norm_eps", c.rmsNormEps, "must be in (0, 1)");
  if (!(c.ropeTheta > 0)) throw bad("rope_theta", c.ropeTheta, "must be greater than 0");
  if (!SUPPORTED_ACTIVATIONS.includes(c.hiddenAct)) {
    const key = GEMMA_FAMILY.includes(c.modelType) ? "hidden_activation" : "hidden_act";
    throw bad(
      key,
      c.hiddenAct,
      `is not a supported activation (supported: ${SUPPORTED_ACTIVATIONS.join(", ")})`,
    );
  }
}
