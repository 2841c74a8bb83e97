// Which family serves which model_type. A new family: its file (facts + block equations) and an entry here.
import type { ModelType } from "@shortened/hf";
import type { Family } from "./family.js";
import { gemma } from "./gemma.js";
import { gemma2, gemma3Text } from "./gemma2.js";
import { llama } from "./llama.js";
import { phi3 } from "./phi3.js";
import { qwen2 } from "./qwen2.js";
import { qwen3 } from "./qwen3.js";

export const FAMILIES: Readonly<Record<ModelType, Family>> = {
  llama,
  mistral: llama,
  qwen2,
  gemma,
  qwen3,
  gemma2,
  gemma3_text: gemma3Text,
  phi3,
};
