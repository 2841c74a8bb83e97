// Depth pruning surgery: a new checkpoint without the given blocks, in the source's layout. Kept blocks
// are renumbered in order, every tensor keeps its stored bytes, non-weight files are copied, and
// pruning.json records what was done. The output appears all at once (see output-folder.ts).
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import { Checkpoint, INDEX_FILE } from "./checkpoint.js";
import type { LayerType } from "./layer-types.js";
import { checkOutputTarget, writeFolderAtomically } from "./output-folder.js";
import {
  isAuxiliaryFile,
  type OutputLayout,
  planOutput,
  prunedModelConfig,
  selectBlocks,
} from "./prune-plan.js";
import { configJsonText } from "./python-json.js";
import { SafetensorsStreamWriter } from "./safetensors-writer.js";
import { TensorCopier } from "./tensor-copy.js";

export const PRUNING_RECORD = "pruning.json";

export interface PruneOptions {
  model: string;
  remove: number[];
  out: string;
  force?: boolean;
  /** how the blocks were chosen (e.g. "taylor", "ppl"); recorded in pruning.json */
  criterion?: string;
  /** one importance score per original block, recorded in pruning.json */
  scores?: number[];
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface PruneResult {
  removed: number[];
  kept: number[];
  numHiddenLayers: number;
  out: string;
  criterion?: string;
  /** the kept blocks' layer_types, when the config got an explicit list (see prunedModelConfig) */
  layerTypes?: LayerType[];
  maxWindowLayers?: number;
  /** what older transformers versions would load differently (the oracle's prune warnings) */
  warnings: string[];
}

const softwareVersion: string = (createRequire(import.meta.url)("../package.json") as { version: string })
  .version;

export async function pruneCheckpoint(opts: PruneOptions): Promise<PruneResult> {
  // Every check happens before anything is written.
  const out = checkOutputTarget(opts.out, opts.force ?? false, [opts.model]);
  const ckpt = Checkpoint.open(opts.model);
  const numLayers = ckpt.config.numHiddenLayers;
  const selection = selectBlocks(opts.remove, numLayers);
  if (opts.scores && opts.scores.length !== numLayers) {
    throw new UserError("bad_request", `${opts.scores.length} scores given for ${numLayers} blocks`);
  }
  const layout = planOutput(ckpt, selection);
  const pruned = prunedModelConfig(ckpt.config, selection.kept);
  const config = pruned.config;
  const record = {
    format: "shortened.pruning/v1",
    source_model: ckpt.dir,
    source_num_hidden_layers: numLayers,
    num_hidden_layers: selection.kept.length,
    removed_layers: selection.removed,
    kept_layers: selection.kept,
    criterion: opts.criterion ?? null,
    warnings: pruned.warnings,
    scores: opts.scores ?? null,
    created_at: new Date().toISOString(),
    software: { name: "shortened", version: softwareVersion },
    previous: readPreviousRecord(ckpt.dir),
  };

  await writeFolderAtomically(out, async (tmp) => {
    // config.json as the oracle and transformers write it (Python's json form, number kinds kept)
    const sourceConfig = readFileSync(join(ckpt.dir, "config.json"), "utf8");
    writeFileSync(join(tmp, "config.json"), configJsonText(config, sourceConfig));
    for (const name of readdirSync(ckpt.dir)) {
      const src = join(ckpt.dir, name);
      if (isAuxiliaryFile(name) && statSync(src).isFile()) copyFileSync(src, join(tmp, name));
    }
    await writeTensors(tmp, layout, opts.onProgress);
    if (layout.index) writeJson(join(tmp, INDEX_FILE), layout.index);
    writeJson(join(tmp, PRUNING_RECORD), record);
  });
  return {
    removed: selection.removed,
    kept: selection.kept,
    numHiddenLayers: selection.kept.length,
    out,
    ...(opts.criterion ? { criterion: opts.criterion } : {}),
    ...(pruned.layerTypesAfter ? { layerTypes: pruned.layerTypesAfter } : {}),
    ...(pruned.maxWindowLayersAfter !== undefined ? { maxWindowLayers: pruned.maxWindowLayersAfter } : {}),
    warnings: pruned.warnings,
  };
}

async function writeTensors(
  dir: string,
  layout: OutputLayout,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<void> {
  let done = 0;
  onProgress?.(0, layout.totalBytes);
  const copier = new TensorCopier((n) => {
    done += n;
    onProgress?.(done, layout.totalBytes);
  });
  try {
    for (const file of layout.files) {
      const writer = await SafetensorsStreamWriter.create(
        join(dir, file.fileName),
        file.tensors,
        file.metadata,
      );
      try {
        for (const t of file.tensors) await copier.copy(t.source, writer);
        await copier.flush();
        await writer.close();
      } catch (e) {
        await copier.flush().catch(() => {});
        await writer.abort();
        throw e;
      }
    }
  } finally {
    await copier.close();
  }
}

function readPreviousRecord(dir: string): unknown {
  const path = join(dir, PRUNING_RECORD);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}
