// Which family serves which model_type. A new family: its file (facts + block equations) and an entry here.
import type { ModelType } from "@shortened/hf";
import type { Family } from "./family.js";
import { gemma } from "./gemma.js";
import { llama } from "./llama.js";
import { qwen2 } from "./qwen2.js";

export const FAMILIES: Readonly<Record<ModelType, Family>> = {
  llama,
  mistral: llama,
  qwen2,
  gemma,
};
