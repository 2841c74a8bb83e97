// The magnitude criterion (anal_block_sensitivity_magnitude.py with its defaults): per weight matrix Σ|W|
// (projections and both RMSNorm weights; biases and embeddings excluded), summed over the block's weights.
// No data is needed. Sums are taken in float64 over the stored values (F16/BF16 widened exactly).
import type { Checkpoint } from "@shortened/hf";

export interface MagnitudeResult {
  scores: number[];
  /** [name, Σ|W|] per weight, in HF named_parameters order */
  weightScores: [string, number][];
}

export function magnitudeCriterion(ckpt: Checkpoint, signal?: AbortSignal): MagnitudeResult {
  const L = ckpt.config.numHiddenLayers;
  const scores = new Array<number>(L).fill(0);
  const weightScores: [string, number][] = [];
  const suffixes = [
    "self_attn.q_proj.weight",
    "self_attn.k_proj.weight",
    "self_attn.v_proj.weight",
    "self_attn.o_proj.weight",
    "mlp.gate_proj.weight",
    "mlp.up_proj.weight",
    "mlp.down_proj.weight",
    "input_layernorm.weight",
    "post_attention_layernorm.weight",
  ];
  for (let i = 0; i < L; i++) {
    for (const s of suffixes) {
      signal?.throwIfAborted();
      const name = `model.layers.${i}.${s}`;
      const w = ckpt.readFloat32(name);
      let sum = 0;
      for (let k = 0; k < w.length; k++) sum += Math.abs(w[k]!);
      weightScores.push([name, sum]);
      scores[i] += sum;
    }
  }
  return { scores, weightScores };
}
