// The tensors a checkpoint of each supported family holds, given its config: names and shapes in Hugging Face
// named_parameters order. Opening a checkpoint checks its tensors against this layout (every tensor present,
// every shape as the config implies, nothing the config does not explain), so a checkpoint that opens is one
// the engine can load. The engine's model families read their block tensors from here. A new family: its
// block layout in BLOCK_LAYOUTS.
import { UserError } from "@shortened/contracts";
import type { ModelConfig, ModelType } from "./config.js";
import { isFloatDtype, type StoredDtype } from "./dtypes.js";
import { gptqShapeProblem, groupCount } from "./gptq-config.js";
import type { TensorEntry } from "./safetensors-header.js";

/** A tensor of every block, named by its suffix under `model.layers.i.`: a linear layer's weight [out, in] or
 *  bias [out], or a norm's weight. */
export interface BlockTensor {
  suffix: string;
  shape: number[];
  role: "weight" | "bias" | "norm";
}

export const EMBEDDING = "model.embed_tokens.weight";
export const FINAL_NORM = "model.norm.weight";
export const LM_HEAD = "lm_head.weight";

/** Which linear layers of the LLaMA block carry a bias, and the extra tensors of the later families. */
export interface LlamaBiases {
  qkv: boolean;
  o: boolean;
  mlp: boolean;
  /** per-head q_norm / k_norm [head_dim] after the attention projections (qwen3, gemma3_text) */
  qkNorm?: boolean;
  /** pre_feedforward_layernorm and post_feedforward_layernorm after the two norms (gemma2, gemma3_text) */
  sandwichNorms?: boolean;
}

/** The LLaMA block's tensors in named_parameters order: q, k, v, o (weight, then bias), [q_norm, k_norm], gate,
 *  up, down, then input_layernorm and post_attention_layernorm [, pre/post_feedforward_layernorm]. */
export function llamaBlockTensors(c: ModelConfig, bias: LlamaBiases): BlockTensor[] {
  const H = c.hiddenSize;
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  const I = c.intermediateSize;
  const linears: [string, number, number, boolean][] = [
    ["self_attn.q_proj", q, H, bias.qkv],
    ["self_attn.k_proj", kv, H, bias.qkv],
    ["self_attn.v_proj", kv, H, bias.qkv],
    ["self_attn.o_proj", H, q, bias.o],
    ["mlp.gate_proj", I, H, bias.mlp],
    ["mlp.up_proj", I, H, bias.mlp],
    ["mlp.down_proj", H, I, bias.mlp],
  ];
  const tensors: BlockTensor[] = linears.flatMap(([m, out, inF, b]) => [
    { suffix: `${m}.weight`, shape: [out, inF], role: "weight" as const },
    ...(b ? [{ suffix: `${m}.bias`, shape: [out], role: "bias" as const }] : []),
  ]);
  if (bias.qkNorm)
    tensors.splice(
      tensors.findIndex((t) => t.suffix.startsWith("mlp.")),
      0,
      { suffix: "self_attn.q_norm.weight", shape: [c.headDim], role: "norm" },
      { suffix: "self_attn.k_norm.weight", shape: [c.headDim], role: "norm" },
    );
  const norms = ["input_layernorm", "post_attention_layernorm"];
  if (bias.sandwichNorms) norms.push("pre_feedforward_layernorm", "post_feedforward_layernorm");
  for (const norm of norms) tensors.push({ suffix: `${norm}.weight`, shape: [H], role: "norm" });
  return tensors;
}

/** Phi-3: fused qkv_proj ([q | k | v] rows) and gate_up_proj ([gate | up] rows), no biases; in named_parameters
 *  order (Phi3Attention registers o_proj before qkv_proj). */
export function phi3BlockTensors(c: ModelConfig): BlockTensor[] {
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  return [
    { suffix: "self_attn.o_proj.weight", shape: [H, q], role: "weight" },
    { suffix: "self_attn.qkv_proj.weight", shape: [q + 2 * kv, H], role: "weight" },
    { suffix: "mlp.gate_up_proj.weight", shape: [2 * I, H], role: "weight" },
    { suffix: "mlp.down_proj.weight", shape: [H, I], role: "weight" },
    { suffix: "input_layernorm.weight", shape: [H], role: "norm" },
    { suffix: "post_attention_layernorm.weight", shape: [H], role: "norm" },
  ];
}

/** One block's tensors, per family. */
const BLOCK_LAYOUTS: Readonly<Record<ModelType, (c: ModelConfig) => BlockTensor[]>> = {
  // LLaMA and Mistral: biases follow attention_bias (q, k, v, o) and mlp_bias
  llama: (c) => llamaBlockTensors(c, { qkv: c.attentionBias, o: c.attentionBias, mlp: c.mlpBias }),
  mistral: (c) => llamaBlockTensors(c, { qkv: c.attentionBias, o: c.attentionBias, mlp: c.mlpBias }),
  // Qwen2: biases on q, k and v only
  qwen2: (c) => llamaBlockTensors(c, { qkv: c.qkvBias, o: false, mlp: false }),
  // Gemma: attention_bias, never an MLP bias
  gemma: (c) => llamaBlockTensors(c, { qkv: c.attentionBias, o: c.attentionBias, mlp: false }),
  // Qwen3: attention_bias on q, k, v and o; per-head q_norm / k_norm
  qwen3: (c) => llamaBlockTensors(c, { qkv: c.qkvBias, o: c.attentionBias, mlp: false, qkNorm: true }),
  // Gemma-2: four norms per block
  gemma2: (c) =>
    llamaBlockTensors(c, { qkv: c.qkvBias, o: c.attentionBias, mlp: false, sandwichNorms: true }),
  // Gemma-3 (text): Gemma-2's block with q_norm / k_norm
  gemma3_text: (c) =>
    llamaBlockTensors(c, {
      qkv: c.qkvBias,
      o: c.attentionBias,
      mlp: false,
      qkNorm: true,
      sandwichNorms: true,
    }),
  phi3: phi3BlockTensors,
};

/** One block's tensors under this config, in named_parameters order. */
export function blockTensorLayout(c: ModelConfig): BlockTensor[] {
  return BLOCK_LAYOUTS[c.modelType](c);
}

/** HF name of a block tensor: blockTensorName(3, "self_attn.q_proj.weight") = "model.layers.3.self_attn.q_proj.weight" */
export const blockTensorName = (i: number, suffix: string): string => `model.layers.${i}.${suffix}`;

/** Every tensor the model reads, in named_parameters order (a tied head is the embedding, no tensor of its own). */
export function tensorLayout(c: ModelConfig): { name: string; shape: number[] }[] {
  const vocabByHidden = [c.vocabSize, c.hiddenSize];
  const block = blockTensorLayout(c);
  const out = [{ name: EMBEDDING, shape: vocabByHidden }];
  for (let i = 0; i < c.numHiddenLayers; i++)
    for (const t of block) out.push({ name: blockTensorName(i, t.suffix), shape: t.shape });
  out.push({ name: FINAL_NORM, shape: [c.hiddenSize] });
  if (!c.tieWordEmbeddings) out.push({ name: LM_HEAD, shape: vocabByHidden });
  return out;
}

/** Tensors a checkpoint may hold that the model does not read: a tied head's stored copy of the embedding, and
 *  the RoPE inverse frequencies older LLaMA checkpoints saved (transformers ignores both on load). */
function toleratedShape(c: ModelConfig, name: string): number[] | null {
  if (name === LM_HEAD && c.tieWordEmbeddings) return [c.vocabSize, c.hiddenSize];
  const m = /^model\.layers\.(\d+)\.self_attn\.rotary_emb\.inv_freq$/.exec(name);
  if (m && Number(m[1]) < c.numHiddenLayers) return [c.headDim / 2];
  return null;
}

/** The four tensors of a GPTQ linear, by suffix after the module name. */
export const GPTQ_TENSORS = ["qweight", "qzeros", "scales", "g_idx"] as const;

interface StoredTensor {
  shape: number[];
  /** allowed dtypes: "float" for any float type */
  dtype: "float" | StoredDtype;
  optional?: boolean;
}

/** What the files hold: the float layout, or for a GPTQ checkpoint every block linear's weight replaced by its
 *  packed tensors (biases, norms, embeddings and the head stay float). */
export function storedTensorLayout(c: ModelConfig, where: string): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  const q = c.quantization;
  const block = blockTensorLayout(c);
  for (const t of tensorLayout(c)) {
    const m = /^model\.layers\.\d+\.(.+)$/.exec(t.name);
    const role = m ? block.find((b) => b.suffix === m[1])?.role : undefined;
    if (!q || role !== "weight") {
      out.set(t.name, { shape: t.shape, dtype: "float" });
      continue;
    }
    const [outF, inF] = t.shape as [number, number];
    const module = t.name.slice(0, -".weight".length);
    const problem = gptqShapeProblem(q, outF, inF);
    if (problem)
      throw new UserError(
        "invalid_checkpoint",
        `${where}: ${module} [${outF}, ${inF}] cannot hold ${q.bits}-bit GPTQ weights with group size ${q.groupSize}: ${problem}`,
      );
    const G = groupCount(q, inF);
    out.set(`${module}.qweight`, { shape: [(inF * q.bits) / 32, outF], dtype: "I32" });
    out.set(`${module}.qzeros`, { shape: [G, (outF * q.bits) / 32], dtype: "I32" });
    out.set(`${module}.scales`, { shape: [G, outF], dtype: "float" });
    out.set(`${module}.g_idx`, { shape: [inF], dtype: "I32", optional: true });
  }
  return out;
}

/** Checks stored tensors against the layout `c` implies; `where` names the checkpoint in messages. */
export function checkTensorLayout(
  c: ModelConfig,
  tensors: ReadonlyMap<string, TensorEntry>,
  where: string,
): void {
  const bad = (msg: string): UserError => new UserError("invalid_checkpoint", `${where}: ${msg}`);
  const shapeText = (s: readonly number[]): string => `[${s.join(", ")}]`;
  const expected = storedTensorLayout(c, where);
  for (const [name, want] of expected) {
    const entry = tensors.get(name);
    if (!entry) {
      if (want.optional) continue;
      throw bad(`tensor ${name} is missing (config.json implies it)`);
    }
    if (shapeText(entry.shape) !== shapeText(want.shape))
      throw bad(
        `tensor ${name} has shape ${shapeText(entry.shape)}, but config.json implies ${shapeText(want.shape)}`,
      );
  }
  for (const [name, entry] of tensors) {
    const stored = expected.get(name);
    const want = stored?.shape ?? toleratedShape(c, name);
    const block = /^model\.layers\.(\d+)\./.exec(name);
    if (!want && block && Number(block[1]) >= c.numHiddenLayers)
      throw bad(
        `tensor ${name} belongs to block ${block[1]}, but config.json says num_hidden_layers is ${c.numHiddenLayers}`,
      );
    if (!want && !c.quantization && /\.(qweight|qzeros|scales|g_idx)$/.test(name))
      throw bad(`tensor ${name} is a GPTQ tensor, but config.json has no quantization_config`);
    if (!want && c.quantization && /\.weight$/.test(name) && tensors.has(name.replace(/weight$/, "qweight")))
      throw bad(`tensor ${name} is stored beside its GPTQ tensors (a quantized linear has no float weight)`);
    if (!want) throw bad(`tensor ${name} is not part of a ${c.modelType} model with this config.json`);
    if (shapeText(entry.shape) !== shapeText(want))
      throw bad(
        `tensor ${name} has shape ${shapeText(entry.shape)}, but config.json implies ${shapeText(want)}`,
      );
    const dtype = stored?.dtype ?? "float";
    if (dtype === "float" && !isFloatDtype(entry.dtype))
      throw bad(`tensor ${name} is ${entry.dtype}, not a float type`);
    if (dtype !== "float" && entry.dtype !== dtype)
      throw bad(`tensor ${name} is ${entry.dtype}, not ${dtype}`);
  }
}
