// config.json of a Hugging Face LLaMA-family checkpoint, normalized with the transformers class defaults
// for missing keys (the same defaults the oracle uses: ../shared/oracle/README.md "Model directories").
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isUserError, UserError } from "@shortened/contracts";
import { decodeUtf8Strict, parseBoundedJson } from "./bounded-json.js";
import { CONFIG_BOUNDS, checkConfigBounds } from "./config-bounds.js";
import { type GptqConfig, parseQuantizationConfig } from "./gptq-config.js";
import { type LayerType, layerAttention } from "./layer-types.js";
import { parseRopeScaling, type RopeScaling } from "./rope-scaling.js";

export type ModelType = "llama" | "mistral" | "qwen2" | "gemma" | "qwen3" | "gemma2" | "gemma3_text" | "phi3";

export interface ModelConfig {
  modelType: ModelType;
  architecture: string;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  hiddenAct: string;
  attentionBias: boolean;
  mlpBias: boolean;
  qkvBias: boolean;
  /** Mistral's window on every layer (null: none); the per-layer truth is layerWindows */
  slidingWindow: number | null;
  /** each layer's sliding window, null for full attention (see ./layer-types.ts) */
  layerWindows: (number | null)[];
  /** layer_types (explicit or derived) for qwen2, qwen3, gemma2 and gemma3_text; null for the others */
  layerTypes: LayerType[] | null;
  /** qwen2 / qwen3 use_sliding_window and max_window_layers (null for the others) */
  useSlidingWindow: boolean | null;
  maxWindowLayers: number | null;
  bosTokenId?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
  /** rope_scaling, validated (type "default" when absent) */
  ropeScaling: RopeScaling;
  /** channels of each head that RoPE rotates (head_dim · Phi-3's partial_rotary_factor) */
  rotaryDim: number;
  /** top-level original_max_position_embeddings (Phi-3 default 4096; longrope reads it), else null */
  originalMaxPositionEmbeddings: number | null;
  /** gemma3_text: θ of the local RoPE of sliding layers (rope_local_base_freq, never scaled); else null */
  ropeLocalTheta: number | null;
  /** gemma2 / gemma3_text: scores are q·kᵀ · query_pre_attn_scalar^-½; null for the others */
  queryPreAttnScalar: number | null;
  /** gemma2: attention scores soft-capped as tanh(s/c)·c (null: none; gemma3_text never applies it) */
  attnLogitSoftcapping: number | null;
  /** gemma2 / gemma3_text: logits soft-capped as tanh(z/c)·c (null: none) */
  finalLogitSoftcapping: number | null;
  /** GPTQ weight quantization of the block linears (quantization_config), or null for a float model */
  quantization: GptqConfig | null;
  raw: Record<string, unknown>;
}

interface ClassDefaults {
  architecture: string;
  tie: boolean;
  /** null: num_attention_heads (MHA) */
  numKeyValueHeads: number | null;
  /** null: hidden_size / num_attention_heads */
  headDim: number | null;
  maxPositionEmbeddings: number;
  rmsNormEps?: number;
  ropeTheta?: number;
}

export const CLASS_DEFAULTS: Readonly<Record<ModelType, ClassDefaults>> = {
  llama: {
    architecture: "LlamaForCausalLM",
    tie: false,
    numKeyValueHeads: null,
    headDim: null,
    maxPositionEmbeddings: 2048,
  },
  mistral: {
    architecture: "MistralForCausalLM",
    tie: false,
    numKeyValueHeads: 8,
    headDim: null,
    maxPositionEmbeddings: 4096 * 32,
  },
  qwen2: {
    architecture: "Qwen2ForCausalLM",
    tie: false,
    numKeyValueHeads: 32,
    headDim: null,
    maxPositionEmbeddings: 32768,
  },
  gemma: {
    architecture: "GemmaForCausalLM",
    tie: true,
    numKeyValueHeads: 16,
    headDim: 256,
    maxPositionEmbeddings: 8192,
  },
  qwen3: {
    architecture: "Qwen3ForCausalLM",
    tie: false,
    numKeyValueHeads: 32,
    headDim: 128,
    maxPositionEmbeddings: 32768,
  },
  gemma2: {
    architecture: "Gemma2ForCausalLM",
    tie: true,
    numKeyValueHeads: 4,
    headDim: 256,
    maxPositionEmbeddings: 8192,
  },
  gemma3_text: {
    architecture: "Gemma3ForCausalLM",
    tie: true,
    numKeyValueHeads: 4,
    headDim: 256,
    maxPositionEmbeddings: 131072,
    ropeTheta: 1_000_000,
  },
  phi3: {
    architecture: "Phi3ForCausalLM",
    tie: false,
    numKeyValueHeads: null,
    headDim: null,
    maxPositionEmbeddings: 4096,
    rmsNormEps: 1e-5,
  },
};

/** The gemma family: (1 + w) RMSNorm, √H embedding scale, tied head by default. */
export const GEMMA_FAMILY: readonly ModelType[] = ["gemma", "gemma2", "gemma3_text"];

const MODEL_TYPES = Object.keys(CLASS_DEFAULTS) as ModelType[];

/** config.json files are a few KB; anything past these bounds is not a model configuration. */
const CONFIG_JSON_BOUNDS = { maxBytes: 1 << 20, maxDepth: 32 };

export function readConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  let bytes: Buffer;
  try {
    if (statSync(path).size > CONFIG_JSON_BOUNDS.maxBytes) {
      throw new UserError(
        "invalid_checkpoint",
        `${path} is larger than the ${CONFIG_JSON_BOUNDS.maxBytes} bytes accepted`,
      );
    }
    bytes = readFileSync(path);
  } catch (e) {
    if (isUserError(e)) throw e;
    throw new UserError("invalid_checkpoint", `no config.json in ${dir}`);
  }
  const raw = parseBoundedJson(decodeUtf8Strict(bytes, path), CONFIG_JSON_BOUNDS, path);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new UserError("invalid_checkpoint", `${path} must hold a JSON object`);
  }
  return parseConfig(raw as Record<string, unknown>, path);
}

export function parseConfig(raw: Record<string, unknown>, where = "config.json"): ModelConfig {
  const modelType = resolveModelType(raw, where);
  const defaults = CLASS_DEFAULTS[modelType];
  const int = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new UserError(
        "invalid_checkpoint",
        v === undefined
          ? `${where}: "${key}" is missing`
          : `${where}: "${key}" must be a non-negative integer (got ${JSON.stringify(v)})`,
      );
    }
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new UserError(
        "invalid_checkpoint",
        `${where}: "${key}" must be a number (got ${JSON.stringify(v)})`,
      );
    }
    return v;
  };
  const optInt = (key: string): number | undefined => {
    const v = raw[key];
    return typeof v === "number" && Number.isInteger(v) ? v : undefined;
  };

  const hiddenSize = int("hidden_size");
  const numAttentionHeads = int("num_attention_heads");
  if (numAttentionHeads === 0)
    throw new UserError("invalid_checkpoint", `${where}: num_attention_heads is 0`);
  const numKeyValueHeads = int("num_key_value_heads", defaults.numKeyValueHeads ?? numAttentionHeads);
  if (numKeyValueHeads === 0 || numAttentionHeads % numKeyValueHeads !== 0) {
    throw new UserError(
      "invalid_checkpoint",
      `${where}: num_attention_heads (${numAttentionHeads}) must be a multiple of num_key_value_heads (${numKeyValueHeads})`,
    );
  }

  refuseUnsupportedKeys(raw, modelType, where);
  const tie = raw["tie_word_embeddings"];
  const eos = raw["eos_token_id"];
  const architectures = raw["architectures"];
  const numHiddenLayers = int("num_hidden_layers");
  const [minLayers, maxLayers] = CONFIG_BOUNDS["num_hidden_layers"]!;
  if (numHiddenLayers < minLayers || numHiddenLayers > maxLayers)
    throw new UserError(
      "invalid_checkpoint",
      `${where}: "num_hidden_layers" must be an integer from ${minLayers} to ${maxLayers} (got ${numHiddenLayers})`,
    );
  const headDim = int("head_dim", defaults.headDim ?? Math.floor(hiddenSize / numAttentionHeads));
  const vocabSize = int("vocab_size");
  const layers = layerAttention(raw, modelType, numHiddenLayers, where);
  const rotaryDim = rotaryDimOf(raw, modelType, headDim, hiddenSize, numAttentionHeads, where);
  const ropeScaling = parseRopeScaling(raw, modelType, rotaryDim, where);
  const optNum = (key: string, fallback: number | null): number | null => {
    const v = raw[key] === undefined ? fallback : raw[key];
    if (v === null) return null;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      throw new UserError(
        "invalid_checkpoint",
        `${where}: "${key}" must be a positive number or null (got ${JSON.stringify(v)})`,
      );
    return v;
  };
  const gemmaNext = modelType === "gemma2" || modelType === "gemma3_text";
  const ab = raw["attention_bias"] === true;
  const pad = optInt("pad_token_id") ?? (!("pad_token_id" in raw) ? defaultPad(modelType) : undefined);
  const config: ModelConfig = {
    modelType,
    architecture:
      Array.isArray(architectures) && typeof architectures[0] === "string"
        ? architectures[0]
        : defaults.architecture,
    hiddenSize,
    intermediateSize: int("intermediate_size"),
    numHiddenLayers,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    vocabSize,
    rmsNormEps: num("rms_norm_eps", defaults.rmsNormEps ?? 1e-6),
    ropeTheta: num("rope_theta", defaults.ropeTheta ?? 10000),
    maxPositionEmbeddings: int("max_position_embeddings", defaults.maxPositionEmbeddings),
    tieWordEmbeddings: typeof tie === "boolean" ? tie : defaults.tie,
    hiddenAct: activationOf(raw, modelType, where),
    // o_proj bias (and q, k, v except for qwen2, whose q, k, v biases are always there)
    attentionBias: modelType !== "qwen2" && modelType !== "phi3" && ab,
    mlpBias: modelType === "llama" && raw["mlp_bias"] === true,
    qkvBias: modelType === "qwen2" || (modelType !== "phi3" && ab),
    slidingWindow: modelType === "mistral" ? (layers.layerWindows[0] ?? null) : null,
    layerWindows: layers.layerWindows,
    layerTypes: layers.layerTypes,
    useSlidingWindow: layers.useSlidingWindow,
    maxWindowLayers: layers.maxWindowLayers,
    bosTokenId: optInt("bos_token_id"),
    eosTokenId:
      typeof eos === "number"
        ? eos
        : Array.isArray(eos) && eos.every((x) => typeof x === "number")
          ? eos
          : undefined,
    // as nn.Embedding(padding_idx): a pad id outside the vocabulary is none (Phi-3's default 32000)
    padTokenId: pad !== undefined && pad < vocabSize ? pad : undefined,
    ropeScaling,
    rotaryDim,
    originalMaxPositionEmbeddings: optNum(
      "original_max_position_embeddings",
      modelType === "phi3" ? 4096 : null,
    ),
    ropeLocalTheta: modelType === "gemma3_text" ? optNum("rope_local_base_freq", 10000) : null,
    queryPreAttnScalar: gemmaNext ? optNum("query_pre_attn_scalar", 256) : null,
    // gemma3_text: transformers 4.50–4.57 never pass attn_logit_softcapping to the attention
    attnLogitSoftcapping: modelType === "gemma2" ? optNum("attn_logit_softcapping", 50) : null,
    finalLogitSoftcapping: gemmaNext
      ? optNum("final_logit_softcapping", modelType === "gemma2" ? 30 : null)
      : null,
    quantization: parseQuantizationConfig(raw, where),
    raw,
  };
  checkConfigBounds(config, raw["head_dim"] != null || defaults.headDim !== null, where);
  return config;
}

function defaultPad(modelType: ModelType): number | undefined {
  if (GEMMA_FAMILY.includes(modelType)) return 0;
  return modelType === "phi3" ? 32000 : undefined;
}

function activationOf(raw: Record<string, unknown>, modelType: ModelType, where: string): string {
  if (modelType === "gemma") return stringOr(raw, "hidden_activation", "gelu_pytorch_tanh", where);
  if (modelType === "gemma2" || modelType === "gemma3_text") {
    const act = raw["hidden_activation"] === undefined ? "gelu_pytorch_tanh" : raw["hidden_activation"];
    if (typeof act !== "string" || act === "")
      throw new UserError(
        "invalid_checkpoint",
        `${where}: "hidden_activation" must be an activation name (got ${JSON.stringify(act)})`,
      );
    return act;
  }
  return stringOr(raw, "hidden_act", "silu", where);
}

/** Rotated channels per head: head_dim, or int(head_dim · partial_rotary_factor) for Phi-3 (the only family
 *  whose attention applies it; transformers would fail on it elsewhere). */
function rotaryDimOf(
  raw: Record<string, unknown>,
  modelType: ModelType,
  headDim: number,
  hiddenSize: number,
  heads: number,
  where: string,
): number {
  const p = raw["partial_rotary_factor"] ?? 1;
  if (typeof p !== "number" || !(p > 0 && p <= 1))
    throw new UserError(
      "invalid_checkpoint",
      `${where}: "partial_rotary_factor" must be a number in (0, 1] (got ${JSON.stringify(p)})`,
    );
  if (modelType !== "phi3") {
    if (p !== 1)
      throw new UserError(
        "unsupported_model",
        `${where}: "partial_rotary_factor" ${p} is not supported for ${modelType} (only phi3 applies it)`,
      );
    return headDim;
  }
  // Phi3RotaryEmbedding: dim = int(head_dim · partial_rotary_factor), head_dim = hidden / heads
  const d = Math.floor(Math.floor(hiddenSize / heads) * p);
  if (d % 2 !== 0 || d === 0)
    throw new UserError(
      "invalid_checkpoint",
      `${where}: "partial_rotary_factor" ${p} gives an odd or empty rotary dimension ${d}`,
    );
  return d;
}

/** Keys whose meaning this engine does not implement: refused with the key and value, never ignored. */
function refuseUnsupportedKeys(raw: Record<string, unknown>, modelType: ModelType, where: string): void {
  const refuse = (key: string, why: string) => {
    throw new UserError(
      "unsupported_model",
      `${where}: "${key}": ${JSON.stringify(raw[key])} is not supported (${why})`,
    );
  };
  if (raw["rope_parameters"] !== undefined && raw["rope_parameters"] !== null)
    refuse(
      "rope_parameters",
      "the transformers 5 layout; give rope_theta and rope_scaling as transformers 4.x writes them",
    );
  if (modelType === "gemma3_text" && raw["use_bidirectional_attention"] === true)
    refuse("use_bidirectional_attention", "only causal attention is implemented");
}

function resolveModelType(raw: Record<string, unknown>, where: string): ModelType {
  let mt = raw["model_type"];
  if (mt === undefined) {
    const archs = raw["architectures"];
    const first = Array.isArray(archs) ? archs[0] : undefined;
    mt = MODEL_TYPES.find((t) => CLASS_DEFAULTS[t].architecture === first);
  }
  if (mt === "gemma3")
    throw new UserError(
      "unsupported_model",
      `${where}: model_type "gemma3" is the multimodal Gemma3ForConditionalGeneration; only the text model (model_type "gemma3_text", Gemma3ForCausalLM) is supported`,
    );
  if (typeof mt !== "string" || !MODEL_TYPES.includes(mt as ModelType)) {
    throw new UserError(
      "unsupported_model",
      `${where}: unsupported model_type ${JSON.stringify(mt ?? null)} (supported: ${MODEL_TYPES.join(", ")})`,
    );
  }
  return mt as ModelType;
}

/** The string at `key`, or `fallback` when the key is absent or null. */
function stringOr(raw: Record<string, unknown>, key: string, fallback: string, where: string): string {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "string")
    throw new UserError(
      "invalid_checkpoint",
      `${where}: "${key}" must be a string (got ${JSON.stringify(v)})`,
    );
  return v;
}
