// Writes a trained or merged model as a Hugging Face folder: config.json (its dtype set to the output dtype),
// one model.safetensors with the given tensors (sorted by name) in the dtype the source model is stored in
// (BF16 in, BF16 out; F16 likewise; rounded to nearest even), and the tokenizer and other non-weight files of
// the source folder copied, as the oracle's save_model_dir. Tensors are produced one at a time and streamed,
// so the host never holds a second copy of the whole model.
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Checkpoint } from "./checkpoint.js";
import { DTYPE_BYTES, float32ToStoredBytes, type StoredDtype } from "./dtypes.js";
import { configJsonText } from "./python-json.js";
import { SafetensorsStreamWriter } from "./safetensors-writer.js";

/** The float dtypes a checkpoint is written in, with their names in config.json. */
export type OutputDtype = "F32" | "F16" | "BF16";
const TORCH_DTYPE: Record<OutputDtype, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/** The dtype a model is stored in: the float dtype of most of its parameters' elements (F64 is written as
 *  F32: the engine's values are float32). */
export function storedModelDtype(ckpt: Checkpoint): OutputDtype {
  const elements = new Map<StoredDtype, number>();
  for (const t of ckpt.tensors.values()) {
    elements.set(t.dtype, (elements.get(t.dtype) ?? 0) + t.byteLength / DTYPE_BYTES[t.dtype]);
  }
  let best: OutputDtype = "F32";
  let most = -1;
  for (const d of ["F32", "BF16", "F16"] as const) {
    const n = elements.get(d) ?? 0;
    if (n > most) [best, most] = [d, n];
  }
  return best;
}

export interface WriteCheckpointOptions {
  /** default: the source's stored dtype (storedModelDtype) */
  dtype?: OutputDtype;
  /** bytes per write call (tests pass tiny ones; see io-pieces.ts) */
  pieceBytes?: number;
}

/** `tensors`: the names and shapes to write (the model's parameters; the engine knows which); `tensor(name)`
 *  produces each one's values when its turn comes. */
export async function writeHfCheckpoint(
  dir: string,
  src: Checkpoint,
  tensors: { name: string; shape: number[] }[],
  tensor: (name: string) => Float32Array,
  opts: WriteCheckpointOptions = {},
): Promise<OutputDtype> {
  const dtype = opts.dtype ?? storedModelDtype(src);
  const sourceConfig = readFileSync(join(src.dir, "config.json"), "utf8");
  const raw = JSON.parse(sourceConfig) as Record<string, unknown>;
  const dtypeKey = "dtype" in raw && !("torch_dtype" in raw) ? "dtype" : "torch_dtype";
  raw[dtypeKey] = TORCH_DTYPE[dtype];
  writeFileSync(join(dir, "config.json"), configJsonText(raw, sourceConfig));
  const specs = [...tensors]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => ({ name: t.name, dtype, shape: t.shape }));
  const w = await SafetensorsStreamWriter.create(
    join(dir, "model.safetensors"),
    specs,
    { format: "pt" },
    opts.pieceBytes,
  );
  try {
    for (const { name } of specs) await w.append(float32ToStoredBytes(tensor(name), dtype));
    await w.close();
  } catch (e) {
    await w.abort();
    throw e;
  }
  for (const fn of readdirSync(src.dir)) {
    if (fn === "config.json" || fn.endsWith(".safetensors") || fn === "model.safetensors.index.json")
      continue;
    if (/\.(bin|pt|pth)$/.test(fn) || fn.startsWith(".")) continue;
    const p = join(src.dir, fn);
    if (statSync(p).isFile()) copyFileSync(p, join(dir, fn));
  }
  return dtype;
}
