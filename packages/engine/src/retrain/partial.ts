// Partial fine-tuning ("Reassessing Layer Pruning in LLMs", Lu et al. 2024): after pruning, train only some
// parts of the model, by default the last N remaining blocks, the final norm and the head, with CPT's
// optimizer, schedule, data order, resume and output; every other tensor stays frozen (an initializer of the
// training graph, not a trainable input) and is written back unchanged.
import { UserError } from "@shortened/contracts";
import type { ModelConfig } from "@shortened/hf";
import { architectureOf, EMBEDDING, FINAL_NORM, LM_HEAD, parameterNames } from "../models/architecture.js";

export const DEFAULT_PARTIAL_BLOCKS = 3;

export interface PartialOptions {
  /** tensor names or dotted prefixes ("model.layers.7", "model.norm", "lm_head") to train */
  parts?: string[];
  /** without `parts`: train the last N blocks, the final norm and the head (default 3) */
  lastBlocks?: number;
}

/** The parts a partial run trains, as names/prefixes: `parts`, or the default of Lu et al. */
export function partialParts(c: ModelConfig, o: PartialOptions): string[] {
  if (o.parts?.length) return o.parts;
  const L = architectureOf(c).numLayers;
  const n = o.lastBlocks ?? DEFAULT_PARTIAL_BLOCKS;
  if (!Number.isInteger(n) || n < 0)
    throw new UserError("bad_request", `\`lastBlocks\` must be a non-negative integer (got ${n})`);
  const blocks = Array.from({ length: Math.min(n, L) }, (_, i) => `model.layers.${L - Math.min(n, L) + i}`);
  return [...blocks, FINAL_NORM.replace(/\.weight$/, ""), "lm_head"];
}

/**
 * The trainable tensor names of `parts`: a part matches a tensor of that name or every tensor under it
 * (at a dot). "lm_head" on a tied model is the embedding (one tensor, trained through both uses).
 */
export function partialTensors(c: ModelConfig, parts: string[]): string[] {
  const names = parameterNames(c);
  const tied = !names.includes(LM_HEAD);
  const out = new Set<string>();
  for (const raw of parts) {
    const part = tied && (raw === "lm_head" || raw === LM_HEAD) ? EMBEDDING : raw;
    const hit = names.filter((n) => n === part || n.startsWith(`${part}.`));
    if (hit.length === 0) {
      throw new UserError(
        "bad_request",
        `partial: "${raw}" names no tensor of this model (parts are tensor names or prefixes such as "model.layers.${architectureOf(c).numLayers - 1}", "model.norm", "lm_head")`,
      );
    }
    for (const n of hit) out.add(n);
  }
  return names.filter((n) => out.has(n));
}
