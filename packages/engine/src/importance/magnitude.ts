// The magnitude criterion (anal_block_sensitivity_magnitude.py with its defaults): per weight matrix Σ|W|
// (every block tensor of the architecture but biases: projections and norm weights), summed per block.
// No data is needed. Sums are taken in float64 over the stored values (F16/BF16 widened exactly).
import type { Checkpoint } from "@shortened/hf";
import { architectureOf, layerName } from "../models/architecture.js";

export interface MagnitudeResult {
  scores: number[];
  /** [name, Σ|W|] per weight, in HF named_parameters order */
  weightScores: [string, number][];
}

export function magnitudeCriterion(ckpt: Checkpoint, signal?: AbortSignal): MagnitudeResult {
  const arch = architectureOf(ckpt.config);
  const scores = new Array<number>(arch.numLayers).fill(0);
  const weightScores: [string, number][] = [];
  const scored = arch.blockTensors.filter((t) => t.role !== "bias");
  for (let i = 0; i < arch.numLayers; i++) {
    for (const t of scored) {
      signal?.throwIfAborted();
      const name = layerName(i, t.suffix);
      const w = ckpt.readFloat32(name);
      let sum = 0;
      for (let k = 0; k < w.length; k++) sum += Math.abs(w[k]!);
      weightScores.push([name, sum]);
      scores[i] += sum;
    }
  }
  return { scores, weightScores };
}
