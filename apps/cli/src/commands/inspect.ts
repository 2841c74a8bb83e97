// `shortened inspect --model DIR`: what a checkpoint is, read from its config and safetensors headers only.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Checkpoint, PRUNING_RECORD } from "@shortened/hf";
import type { Command } from "commander";
import { runCommand } from "../output.js";

export interface InspectResult {
  model: string;
  architecture: string;
  modelType: string;
  numHiddenLayers: number;
  parameters: number;
  /** the dtype holding most bytes */
  dtype: string;
  /** bytes per stored dtype */
  dtypes: Record<string, number>;
  tensorBytes: number;
  fileBytes: number;
  sharded: boolean;
  files: number;
  tensors: number;
  hiddenSize: number;
  intermediateSize: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  /** removed_layers of pruning.json when the model was made by `prune` */
  prunedFrom: { sourceNumHiddenLayers: number; removed: number[]; criterion: string | null } | null;
}

export function inspectModel(dir: string): InspectResult {
  const ckpt = Checkpoint.open(dir);
  const c = ckpt.config;
  const dtypes: Record<string, number> = {};
  let tensorBytes = 0;
  for (const t of ckpt.tensors.values()) {
    dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + t.byteLength;
    tensorBytes += t.byteLength;
  }
  const dtype = Object.entries(dtypes).sort((a, b) => b[1] - a[1])[0]?.[0] ?? "none";
  return {
    model: ckpt.dir,
    architecture: c.architecture,
    modelType: c.modelType,
    numHiddenLayers: c.numHiddenLayers,
    parameters: ckpt.parameterCount(),
    dtype,
    dtypes,
    tensorBytes,
    fileBytes: ckpt.files.reduce((a, f) => a + f.fileSize, 0),
    sharded: ckpt.sharded,
    files: ckpt.files.length,
    tensors: ckpt.tensors.size,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numAttentionHeads: c.numAttentionHeads,
    numKeyValueHeads: c.numKeyValueHeads,
    headDim: c.headDim,
    vocabSize: c.vocabSize,
    tieWordEmbeddings: c.tieWordEmbeddings,
    prunedFrom: readPruningRecord(ckpt.dir),
  };
}

function readPruningRecord(dir: string): InspectResult["prunedFrom"] {
  const path = join(dir, PRUNING_RECORD);
  if (!existsSync(path)) return null;
  try {
    const r = JSON.parse(readFileSync(path, "utf8"));
    return {
      sourceNumHiddenLayers: r.source_num_hidden_layers,
      removed: r.removed_layers,
      criterion: r.criterion ?? null,
    };
  } catch {
    return null;
  }
}

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function human(r: InspectResult): string {
  const rows: [string, string][] = [
    ["model", r.model],
    ["architecture", `${r.architecture} (model_type ${r.modelType})`],
    ["blocks", String(r.numHiddenLayers)],
    ["parameters", r.parameters.toLocaleString("en-US")],
    [
      "dtype",
      Object.keys(r.dtypes).length > 1
        ? `${r.dtype} (also ${Object.keys(r.dtypes)
            .filter((d) => d !== r.dtype)
            .join(", ")})`
        : r.dtype,
    ],
    [
      "bytes",
      `${formatBytes(r.tensorBytes)} of tensors in ${r.files} ${r.sharded ? "shards" : "file"} (${formatBytes(r.fileBytes)})`,
    ],
    ["hidden size", `${r.hiddenSize} (intermediate ${r.intermediateSize})`],
    ["heads", `${r.numAttentionHeads} attention, ${r.numKeyValueHeads} key/value, head_dim ${r.headDim}`],
    ["vocab", String(r.vocabSize)],
    ["tied embeddings", r.tieWordEmbeddings ? "yes" : "no"],
  ];
  if (r.prunedFrom) {
    const p = r.prunedFrom;
    rows.push([
      "pruned",
      `blocks ${p.removed.join(", ")} of ${p.sourceNumHiddenLayers} removed${p.criterion ? ` (${p.criterion})` : ""}`,
    ]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}

export function register(program: Command): void {
  program
    .command("inspect")
    .description("show a checkpoint's architecture, blocks, parameters, dtype and size")
    .requiredOption("--model <dir>", "model folder (config.json + safetensors)")
    .option("--json", "print one JSON object")
    .action(async (opts: { model: string; json?: boolean }) => {
      await runCommand(opts, async () => inspectModel(opts.model), human);
    });
}
