// A model as an ONNX decoder for deployment with ONNX Runtime: the engine's own forward graph with its KV
// cache (../models/forward-graph.ts, padded rows), renamed to the names ONNX Runtime GenAI and Optimum use:
// input_ids, attention_mask, position_ids and past_key_values.<i>.key/value in; logits and present.<i>.key/value
// out. Weights go to model.onnx.data (external data), so models over 2 GB load; README.md beside them says
// what each input and output is. A GPTQ checkpoint keeps its quantized weights: each 2/4/8-bit block linear is
// a com.microsoft::MatMulNBits node (act-order by a Gather of its inputs, as the engine runs it;
// ../quantize/gptq-matmul.ts), 3-bit linears the float MatMul of their dequantized weight. Tensors are read
// from the checkpoint and written one at a time (../graph/builder.ts), so memory stays near the largest one.
import { writeFileSync } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UserError } from "@shortened/contracts";
import type { Checkpoint } from "@shortened/hf";
import { GraphBuilder, type ValueInfo } from "../graph/builder.js";
import { buildForwardGraph } from "../models/forward-graph.js";
import { checkComputeDtype } from "../models/precision.js";
import { checkpointHooks, openCheckpoint } from "../models/weights.js";

export type ExportDtype = "float32" | "float16";

export interface ExportResult {
  files: string[];
  bytes: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  numLayers: number;
  dtype: ExportDtype;
  /** A GPTQ checkpoint: its bits and group size, and how many linears run as MatMulNBits / dequantized. */
  quantization: {
    method: "gptq";
    bits: number;
    groupSize: number;
    nbits: number;
    dequantized: number;
  } | null;
}

export const EXPORT_FILES = { model: "model.onnx", data: "model.onnx.data", readme: "README.md" } as const;

/** Writes model.onnx, model.onnx.data and README.md into `outDir` (created; written whole or not at all). */
export async function exportOnnxDecoder(
  model: string | Checkpoint,
  outDir: string,
  opts: { dtype?: ExportDtype; source?: string } = {},
): Promise<ExportResult> {
  const dtype = opts.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float16")
    throw new UserError("bad_request", `--dtype must be float32 or float16, not ${dtype}`);
  checkComputeDtype(dtype, "cpu");
  const ckpt = openCheckpoint(model);
  const c = ckpt.config;
  const q = c.quantization;
  if (q && dtype !== "float32")
    throw new UserError(
      "bad_request",
      `a GPTQ checkpoint (${q.bits}-bit) exports with its quantized weights (MatMulNBits, float32 activations): leave --dtype at float32`,
    );
  const g = new GraphBuilder();
  const fg = buildForwardGraph(c, {
    graph: g,
    ...checkpointHooks(g, ckpt, { dtype }),
    kvCache: { padded: true },
    gates: false,
    nll: false,
    logits: true,
    maxSeqLen: c.maxPositionEmbeddings,
  });
  const L = c.numHiddenLayers;
  const nbits = g.nodes.filter((n) => n.opType === "MatMulNBits").length;
  const quantization = q
    ? {
        method: "gptq" as const,
        bits: q.bits,
        groupSize: q.groupSize,
        nbits,
        dequantized: L * linearsPerBlock(ckpt) - nbits,
      }
    : null;
  // The HF names. The padded cache's key_valid (bool) is read from attention_mask (int64, 1 = attend).
  renameInput(g, fg.inputs.keyValid!, "attention_mask", "int64");
  g.nodes.unshift({
    opType: "Cast",
    domain: "",
    inputs: ["attention_mask"],
    outputs: [fg.inputs.keyValid!],
    attrs: { to: 9 },
    name: "attention_mask_to_bool",
  });
  for (let i = 0; i < L; i++) {
    renameInput(g, fg.inputs.pastKeys![i]!, `past_key_values.${i}.key`);
    renameInput(g, fg.inputs.pastValues![i]!, `past_key_values.${i}.value`);
    renameOutput(g, fg.outputs.presentKeys![i]!, `present.${i}.key`);
    renameOutput(g, fg.outputs.presentValues![i]!, `present.${i}.value`);
  }
  // input_ids, attention_mask, position_ids, then the cache.
  const order = (n: string) =>
    n === "input_ids" ? 0 : n === "attention_mask" ? 1 : n === "position_ids" ? 2 : 3;
  g.inputs.sort((a, b) => order(a.name) - order(b.name));

  await mkdir(dirname(outDir), { recursive: true });
  const tmp = join(dirname(outDir), `.${basename(outDir)}.partial-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const bytes = g.toBytes(join(tmp, EXPORT_FILES.data));
    writeFileSync(join(tmp, EXPORT_FILES.model), bytes);
    writeFileSync(
      join(tmp, EXPORT_FILES.readme),
      exportReadme({
        inputs: g.inputs,
        outputs: g.outputs,
        L,
        dtype,
        arch: c.architecture,
        source: opts.source,
        c,
        quantization,
      }),
    );
    await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    g.initializers.clear();
  }
  const files = [EXPORT_FILES.model, EXPORT_FILES.data, EXPORT_FILES.readme];
  let total = 0;
  for (const f of files) total += (await stat(join(outDir, f))).size;
  return { files, bytes: total, inputs: g.inputs, outputs: g.outputs, numLayers: L, dtype, quantization };
}

/** The quantized linears of block 0 (each block has the same). */
function linearsPerBlock(ckpt: Checkpoint): number {
  let n = 0;
  for (const name of ckpt.tensors.keys()) if (/^model\.layers\.0\..*\.qweight$/.test(name)) n++;
  return n;
}

function renameInput(g: GraphBuilder, from: string, to: string, type?: ValueInfo["type"]): void {
  const v = g.inputs.find((i) => i.name === from);
  if (!v) throw new Error(`the forward graph has no input ${from}`);
  if (type) {
    // A new input of another type; the old name stays the value the graph reads (made by a Cast).
    g.inputs.splice(g.inputs.indexOf(v), 1, { ...v, name: to, type });
    return;
  }
  g.rename(from, to);
  v.name = to;
}

function renameOutput(g: GraphBuilder, from: string, to: string): void {
  const v = g.outputs.find((o) => o.name === from);
  if (!v) throw new Error(`the forward graph has no output ${from}`);
  g.rename(from, to);
  v.name = to;
}

const shape = (v: ValueInfo) => `[${v.shape.join(", ")}]`;

function exportReadme(o: {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  L: number;
  dtype: ExportDtype;
  arch: string;
  source?: string;
  c: Checkpoint["config"];
  quantization: ExportResult["quantization"];
}): string {
  const row = (v: ValueInfo, what: string) => `| \`${v.name}\` | ${v.type} | ${shape(v)} | ${what} |`;
  const describe = (name: string): string => {
    if (name === "input_ids") return "token ids of the new tokens (the prompt, then one token per step)";
    if (name === "attention_mask")
      return "1 for every real token, 0 for padding, over past + new tokens (`total` = `past` + `seq`)";
    if (name === "position_ids") return "each new token's position (0-based, padding excluded)";
    if (name === "logits") return "next-token scores for every new token (float32)";
    const m = /^(past_key_values|present)\.(\d+)\.(key|value)$/.exec(name);
    if (m)
      return m[1] === "present"
        ? `block ${m[2]}'s ${m[3]}s after this step: past + new (feed back as past_key_values.${m[2]}.${m[3]})`
        : `block ${m[2]}'s cached ${m[3]}s (first step: \`past\` = 0)`;
    return "";
  };
  const kv = o.inputs.find((i) => i.name.startsWith("past_key_values."));
  const q = o.quantization;
  const weights = q ? `GPTQ ${q.bits}-bit weights` : `${o.dtype} weights`;
  const quantized = q
    ? `\n\nThe block linears keep their GPTQ ${q.bits}-bit weights (groups of ${q.groupSize < 0 ? "a whole row" : q.groupSize}): ${q.nbits} run as \`com.microsoft::MatMulNBits\` (ONNX Runtime's contrib operator, CPU and CUDA providers; act-order by a \`Gather\` of the inputs)${q.dequantized ? `, ${q.dequantized} (where MatMulNBits cannot hold them) as the float MatMul of their dequantized weight` : ""}. Embeddings, norms and the head are float32.`
    : "";
  return `# ONNX decoder (${o.arch}, ${o.L} blocks, ${weights})

Exported by Shortened${o.source ? ` from ${o.source}` : ""}: \`model.onnx\` with its weights in \`model.onnx.data\`
(external data: keep both files in one folder and load by path). It is the engine's own forward graph, opset 18,
for ONNX Runtime ${o.dtype === "float16" ? "(float16 matrices: the matrix products run in float16, norms, softmax and the cache in float32)" : ""}.${quantized}

## Inputs

| name | type | shape | what |
| --- | --- | --- | --- |
${o.inputs.map((v) => row(v, describe(v.name))).join("\n")}

## Outputs

| name | type | shape | what |
| --- | --- | --- | --- |
${o.outputs.map((v) => row(v, describe(v.name))).join("\n")}

## Generating

1. First step: \`input_ids\` = the prompt [B, T], \`attention_mask\` = ones [B, T] (0 where a row is left-padded),
   \`position_ids\` = 0..T-1 per row (counting real tokens only), every \`past_key_values.i.key/value\` an empty
   float32 tensor [B, ${kv?.shape[1]}, 0, ${kv?.shape[3]}].
2. Pick the next token from \`logits\`[:, -1, :] (argmax for greedy).
3. Next step: \`input_ids\` = that token [B, 1], \`attention_mask\` = the previous mask with a 1 appended,
   \`position_ids\` = the next position, \`past_key_values.i.*\` = the previous step's \`present.i.*\`.

Vocabulary ${o.c.vocabSize}; at most ${o.c.maxPositionEmbeddings} positions; end of sequence ${JSON.stringify(o.c.eosTokenId ?? null)}.
The tokenizer files of the model are not part of this folder.
`;
}
