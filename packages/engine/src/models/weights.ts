// The default `weight` hook of the forward graph: each checkpoint tensor becomes a float32 initializer
// (F16/BF16 widened on read), checked against the shape the config implies before any compute.
import { UserError } from "@shortened/contracts";
import type { Checkpoint, ModelConfig } from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";

/** The shape a tensor of this HF name must have under `config`, or null for a name the config does not use. */
export function expectedShape(c: ModelConfig, name: string): number[] | null {
  const H = c.hiddenSize;
  if (name === "model.embed_tokens.weight" || name === "lm_head.weight") return [c.vocabSize, H];
  if (name === "model.norm.weight") return [H];
  const m = /^model\.layers\.\d+\.(.+)$/.exec(name);
  if (!m) return null;
  const suffix = m[1]!;
  if (suffix === "input_layernorm.weight" || suffix === "post_attention_layernorm.weight") return [H];
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  const outIn: Record<string, [number, number]> = {
    "self_attn.q_proj": [q, H],
    "self_attn.k_proj": [kv, H],
    "self_attn.v_proj": [kv, H],
    "self_attn.o_proj": [H, q],
    "mlp.gate_proj": [c.intermediateSize, H],
    "mlp.up_proj": [c.intermediateSize, H],
    "mlp.down_proj": [H, c.intermediateSize],
  };
  const pm = /^(.+)\.(weight|bias)$/.exec(suffix);
  const dims = pm ? outIn[pm[1]!] : undefined;
  if (!pm || !dims) return null;
  return pm[2] === "weight" ? dims : [dims[0]];
}

/** Names the forward graph reads, in HF named_parameters order (the tied head is the embedding). */
export function parameterNames(c: ModelConfig): string[] {
  const qkvBias = c.qkvBias || c.attentionBias;
  const oBias = c.attentionBias && c.modelType !== "qwen2";
  const names = ["model.embed_tokens.weight"];
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}.`;
    for (const proj of ["q_proj", "k_proj", "v_proj", "o_proj"]) {
      names.push(`${p}self_attn.${proj}.weight`);
      if ((proj !== "o_proj" && qkvBias) || (proj === "o_proj" && oBias))
        names.push(`${p}self_attn.${proj}.bias`);
    }
    for (const proj of ["gate_proj", "up_proj", "down_proj"]) {
      names.push(`${p}mlp.${proj}.weight`);
      if (c.mlpBias) names.push(`${p}mlp.${proj}.bias`);
    }
    names.push(`${p}input_layernorm.weight`, `${p}post_attention_layernorm.weight`);
  }
  names.push("model.norm.weight");
  if (!c.tieWordEmbeddings) names.push("lm_head.weight");
  return names;
}

/** Checks that the checkpoint holds every tensor the config needs, with the right shapes (no data read). */
export function checkCheckpointTensors(ckpt: Checkpoint): void {
  for (const name of parameterNames(ckpt.config)) {
    const entry = ckpt.tensors.get(name);
    if (!entry) throw new UserError("invalid_checkpoint", `${ckpt.dir} lacks tensor ${name}`);
    const want = expectedShape(ckpt.config, name)!;
    if (entry.shape.join(",") !== want.join(",")) {
      throw new UserError(
        "invalid_checkpoint",
        `tensor ${name} has shape [${entry.shape}], but config.json implies [${want}]`,
      );
    }
  }
}

/** The default weight hook: the named tensor as a float32 initializer of `g` (added once, on first use). */
export function checkpointWeights(g: GraphBuilder, ckpt: Checkpoint): (name: string) => string {
  return (name) => {
    if (!g.initializers.has(name)) {
      const entry = ckpt.tensors.get(name);
      if (!entry) throw new UserError("invalid_checkpoint", `${ckpt.dir} lacks tensor ${name}`);
      g.initializer(name, { type: "float32", dims: entry.shape, data: ckpt.readFloat32(name) });
    }
    return name;
  };
}
