// What depth pruning changes, decided before any byte is written: which blocks go, how kept blocks are
// renumbered, the new config.json, and which tensors land in which output file.
import { basename } from "node:path";
import { UserError } from "@shortened/contracts";
import { type Checkpoint, INDEX_FILE, parseLayerName, SINGLE_FILE } from "./checkpoint.js";
import type { ModelConfig } from "./config.js";
import type { LayerType } from "./layer-types.js";
import type { TensorEntry } from "./safetensors-header.js";
import type { TensorSpec } from "./safetensors-writer.js";

/** config.json lists with one entry per block, sliced together with the blocks. */
const PER_LAYER_LISTS = ["layer_types", "no_rope_layers"];

export interface BlockSelection {
  removed: number[];
  /** kept[newIndex] = original index */
  kept: number[];
}

export function selectBlocks(remove: number[], numLayers: number): BlockSelection {
  if (remove.length === 0)
    throw new UserError("invalid_blocks", "no blocks to remove: give at least one block index");
  const seen = new Set<number>();
  for (const b of remove) {
    if (!Number.isInteger(b) || b < 0 || b >= numLayers) {
      throw new UserError(
        "invalid_blocks",
        `block index ${b} is out of range: the model has blocks 0..${numLayers - 1}`,
      );
    }
    if (seen.has(b)) throw new UserError("invalid_blocks", `block index ${b} is listed twice`);
    seen.add(b);
  }
  if (seen.size === numLayers) {
    throw new UserError("invalid_blocks", `cannot remove every block: the model has only ${numLayers}`);
  }
  const kept: number[] = [];
  for (let i = 0; i < numLayers; i++) if (!seen.has(i)) kept.push(i);
  return { removed: [...seen].sort((a, b) => a - b), kept };
}

/** The source config.json with num_hidden_layers and per-block lists updated; every other key unchanged. */
export function prunedConfig(
  raw: Record<string, unknown>,
  kept: number[],
  numLayers: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw, num_hidden_layers: kept.length };
  for (const key of PER_LAYER_LISTS) {
    const list = raw[key];
    if (Array.isArray(list) && list.length === numLayers) out[key] = kept.map((i) => list[i]);
  }
  return out;
}

/** The pruned config.json and what its per-layer entries became (the oracle's `prune`). */
export interface PrunedModelConfig {
  config: Record<string, unknown>;
  /** written when a block's attention type depends on its index (gemma2, gemma3_text, qwen3; qwen2 with
   *  sliding layers), so that every kept block keeps its type (and gemma3_text its local/global RoPE) */
  layerTypesAfter?: LayerType[];
  /** qwen2 / qwen3 with use_sliding_window: the kept blocks below the old max_window_layers */
  maxWindowLayersAfter?: number;
  /** where transformers versions older than 4.53 (which ignore layer_types) would load a different model */
  warnings: string[];
}

export function prunedModelConfig(c: ModelConfig, kept: number[]): PrunedModelConfig {
  const config = prunedConfig(c.raw, kept, c.numHiddenLayers);
  const warnings: string[] = [];
  const out: PrunedModelConfig = { config, warnings };
  if (!c.layerTypes) return out;
  const eff = kept.map((i) => c.layerTypes![i]!);
  const sliding = c.layerTypes.includes("sliding_attention");
  const mt = c.modelType;
  if (mt === "gemma2" || mt === "gemma3_text" || mt === "qwen3" || sliding) {
    config["layer_types"] = eff;
    out.layerTypesAfter = eff;
  }
  const changedFrom = (old: (j: number) => LayerType) => eff.flatMap((t, j) => (t !== old(j) ? [j] : []));
  if ((mt === "qwen2" || mt === "qwen3") && c.useSlidingWindow) {
    const mwl = c.maxWindowLayers!;
    config["max_window_layers"] = kept.filter((i) => i < mwl).length;
    out.maxWindowLayersAfter = config["max_window_layers"] as number;
    if (sliding && !eff.every((t) => t === "sliding_attention"))
      warnings.push(
        `${mt}: transformers < 4.53 ignores layer_types: its eager/sdpa attention applies the sliding window to every layer (only flash-attention uses max_window_layers, which was renumbered to match)`,
      );
  } else if (mt === "gemma2") {
    const bad = changedFrom((j) => (j % 2 === 0 ? "sliding_attention" : "full_attention"));
    if (bad.length > 0)
      warnings.push(
        `gemma2: transformers < 4.53 ignores layer_types and makes even layers sliding: new layers [${bad.join(", ")}] would change attention type there`,
      );
  } else if (mt === "gemma3_text") {
    const p = c.raw["sliding_window_pattern"];
    const pattern = typeof p === "number" ? p : 6;
    const bad = changedFrom((j) => ((j + 1) % pattern !== 0 ? "sliding_attention" : "full_attention"));
    if (bad.length > 0)
      warnings.push(
        `gemma3_text: transformers 4.50-4.52 ignore layer_types and use sliding_window_pattern ${pattern}: new layers [${bad.join(", ")}] would change attention type and local/global RoPE there`,
      );
  }
  return out;
}

export interface CopyItem extends TensorSpec {
  source: TensorEntry;
}

export interface OutputFile {
  fileName: string;
  metadata: Record<string, string>;
  tensors: CopyItem[];
}

export interface OutputLayout {
  files: OutputFile[];
  /** content of model.safetensors.index.json for sharded output, else null */
  index: { metadata: Record<string, unknown>; weight_map: Record<string, string> } | null;
  totalBytes: number;
}

/**
 * Same layout as the source: one file stays one file; each source shard becomes one output shard
 * (renamed model-0000i-of-0000n, dropped when every tensor in it belonged to removed blocks).
 * Tensors inside a file are sorted by name, as safetensors writers do.
 */
export function planOutput(ckpt: Checkpoint, selection: BlockSelection): OutputLayout {
  const newIndexOf = new Map(selection.kept.map((orig, i) => [orig, i]));
  const rename = (t: TensorEntry): string | null => {
    const p = parseLayerName(t.name);
    if (!p) return t.name;
    const k = newIndexOf.get(p.layer);
    return k === undefined ? null : `model.layers.${k}.${p.suffix}`;
  };
  const groups: { metadata: Record<string, string>; tensors: CopyItem[] }[] = [];
  for (const file of ckpt.files) {
    const tensors: CopyItem[] = [];
    for (const t of file.tensors) {
      const name = rename(t);
      if (name !== null) tensors.push({ name, dtype: t.dtype, shape: t.shape, source: t });
    }
    tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (tensors.length > 0) groups.push({ metadata: file.metadata ?? { format: "pt" }, tensors });
  }
  const totalBytes = groups.reduce((a, g) => a + g.tensors.reduce((b, t) => b + t.source.byteLength, 0), 0);
  if (!ckpt.sharded) {
    return { files: [{ fileName: SINGLE_FILE, ...groups[0] }], index: null, totalBytes };
  }
  const n = groups.length;
  const pad = (i: number) => String(i).padStart(5, "0");
  const files = groups.map((g, i) => ({ fileName: `model-${pad(i + 1)}-of-${pad(n)}.safetensors`, ...g }));
  const entries = files.flatMap((f) => f.tensors.map((t): [string, string] => [t.name, f.fileName]));
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const weightMap = Object.fromEntries(entries);
  return {
    files,
    index: { metadata: { ...ckpt.index?.metadata, total_size: totalBytes }, weight_map: weightMap },
    totalBytes,
  };
}

/** Files of a model folder that are not weights or config: tokenizer, generation config, README, ... */
export function isAuxiliaryFile(name: string): boolean {
  const n = basename(name);
  if (n === "config.json" || n === INDEX_FILE || n === "pruning.json") return false;
  return !/\.(safetensors|bin|pt|pth|ckpt|h5|msgpack)$/.test(n) && !n.endsWith(".index.json");
}
