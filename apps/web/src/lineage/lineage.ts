// What a lineage edge says: how the child was made from its parent (removed blocks, retraining method).
import type { Version } from "../lib/types.js";

export function edgeLabel(child: Version): string {
  const r = child.recipe as Record<string, unknown>;
  if (child.kind === "pruned") {
    const removed = (r.removed as number[] | undefined) ?? [];
    const crit = r.criterion ? ` (${r.criterion})` : "";
    return `pruned: −blocks ${removed.join(", ")}${crit}`;
  }
  if (child.kind === "retrained" || child.kind === "merged") {
    const method = (r.method as string | undefined) ?? "retrained";
    const steps = r.steps ? `, ${r.steps} steps` : "";
    return `${method}${steps}${child.kind === "merged" ? ", merged" : ""}`;
  }
  return child.kind;
}

export function nodeLabel(modelName: string, v: Version): string {
  // A registered base stores checkpoint facts; a produced version its config.json.
  const c = v.config as { num_hidden_layers?: number; numHiddenLayers?: number } | null;
  const layers = c?.numHiddenLayers ?? c?.num_hidden_layers;
  return `${modelName}@${v.number} · ${v.kind}${layers ? ` · ${layers} blocks` : ""}`;
}
