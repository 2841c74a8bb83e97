// config.json of a Hugging Face LLaMA-family checkpoint, normalized with the transformers class defaults
// for missing keys (the same defaults the oracle uses: ../shared/oracle/README.md "Model directories").
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isUserError, UserError } from "@shortened/contracts";
import { decodeUtf8Strict, parseBoundedJson } from "./bounded-json.js";
import { checkConfigBounds } from "./config-bounds.js";

export type ModelType = "llama" | "mistral" | "qwen2" | "gemma";

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
  slidingWindow: number | null;
  bosTokenId?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
  /** A non-default rope_scaling (e.g. LLaMA-3.1 "llama3"), else null. Surgery ignores it; compute must check it. */
  ropeScaling: Record<string, unknown> | null;
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
};

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
        `${where}: "${key}" must be a non-negative integer (got ${JSON.stringify(v)})`,
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

  const tie = raw["tie_word_embeddings"];
  const eos = raw["eos_token_id"];
  const architectures = raw["architectures"];
  const hiddenAct =
    modelType === "gemma"
      ? stringOr(raw["hidden_activation"], "gelu_pytorch_tanh")
      : stringOr(raw["hidden_act"], "silu");
  const sliding = raw["sliding_window"];
  const config: ModelConfig = {
    modelType,
    architecture:
      Array.isArray(architectures) && typeof architectures[0] === "string"
        ? architectures[0]
        : defaults.architecture,
    hiddenSize,
    intermediateSize: int("intermediate_size"),
    numHiddenLayers: int("num_hidden_layers"),
    numAttentionHeads,
    numKeyValueHeads,
    headDim: int("head_dim", defaults.headDim ?? Math.floor(hiddenSize / numAttentionHeads)),
    vocabSize: int("vocab_size"),
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
    maxPositionEmbeddings: int("max_position_embeddings", defaults.maxPositionEmbeddings),
    tieWordEmbeddings: typeof tie === "boolean" ? tie : defaults.tie,
    hiddenAct,
    attentionBias: modelType !== "qwen2" && raw["attention_bias"] === true,
    mlpBias: modelType === "llama" && raw["mlp_bias"] === true,
    qkvBias: modelType === "qwen2",
    slidingWindow:
      modelType === "mistral"
        ? sliding === null
          ? null
          : typeof sliding === "number"
            ? sliding
            : 4096
        : null,
    bosTokenId: optInt("bos_token_id"),
    eosTokenId:
      typeof eos === "number"
        ? eos
        : Array.isArray(eos) && eos.every((x) => typeof x === "number")
          ? eos
          : undefined,
    padTokenId: optInt("pad_token_id") ?? (modelType === "gemma" && !("pad_token_id" in raw) ? 0 : undefined),
    ropeScaling: nonDefaultRopeScaling(raw, where),
    raw,
  };
  checkConfigBounds(config, raw["head_dim"] != null || defaults.headDim !== null, where);
  return config;
}

function resolveModelType(raw: Record<string, unknown>, where: string): ModelType {
  let mt = raw["model_type"];
  if (mt === undefined) {
    const archs = raw["architectures"];
    const first = Array.isArray(archs) ? archs[0] : undefined;
    mt = MODEL_TYPES.find((t) => CLASS_DEFAULTS[t].architecture === first);
  }
  if (typeof mt !== "string" || !MODEL_TYPES.includes(mt as ModelType)) {
    throw new UserError(
      "unsupported_model",
      `${where}: unsupported model_type ${JSON.stringify(mt ?? null)} (supported: ${MODEL_TYPES.join(", ")})`,
    );
  }
  return mt as ModelType;
}

function nonDefaultRopeScaling(raw: Record<string, unknown>, where: string): Record<string, unknown> | null {
  const rs = raw["rope_scaling"];
  if (rs === undefined || rs === null) return null;
  if (typeof rs !== "object" || Array.isArray(rs)) {
    throw new UserError("invalid_checkpoint", `${where}: rope_scaling must be an object or null`);
  }
  const o = rs as Record<string, unknown>;
  const kind = o["rope_type"] ?? o["type"];
  return Object.keys(o).length === 0 || kind === "default" ? null : o;
}

function stringOr(v: unknown, fallback: string): string {
  return typeof v === "string" && v !== "" ? v : fallback;
}
