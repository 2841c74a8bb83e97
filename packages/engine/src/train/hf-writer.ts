// Writes a trained or merged model as a Hugging Face folder: config.json (dtype set to float32), one
// model.safetensors with the forward graph's parameters in F32 (sorted by name, tied head omitted), and the
// tokenizer and other non-weight files copied, as the oracle's save_model_dir. Tensors are produced one at a
// time and streamed, so the host never holds a second copy of the whole model.
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Checkpoint, SafetensorsStreamWriter } from "@shortened/hf";
import { expectedShape, parameterNames } from "../models/weights.js";

export async function writeHfCheckpoint(
  dir: string,
  src: Checkpoint,
  tensor: (name: string) => Float32Array,
): Promise<void> {
  const raw = JSON.parse(readFileSync(join(src.dir, "config.json"), "utf8")) as Record<string, unknown>;
  const dtypeKey = "dtype" in raw && !("torch_dtype" in raw) ? "dtype" : "torch_dtype";
  raw[dtypeKey] = "float32";
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(raw, null, 2)}\n`);
  const names = parameterNames(src.config).sort();
  const specs = names.map((name) => ({
    name,
    dtype: "F32" as const,
    shape: expectedShape(src.config, name)!,
  }));
  const w = await SafetensorsStreamWriter.create(join(dir, "model.safetensors"), specs);
  try {
    for (const name of names) {
      const t = tensor(name);
      await w.append(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    }
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
}
