// Writes a trained or merged model as a Hugging Face folder: config.json (dtype set to float32), one
// model.safetensors with the given tensors in F32 (sorted by name), and the tokenizer and other non-weight files
// of the source folder copied, as the oracle's save_model_dir. Tensors are produced one at a time and streamed,
// so the host never holds a second copy of the whole model.
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Checkpoint } from "./checkpoint.js";
import { SafetensorsStreamWriter } from "./safetensors-writer.js";

/** `tensors`: the names and shapes to write (the model's parameters; the engine knows which); `tensor(name)`
 *  produces each one's values when its turn comes. */
export async function writeHfCheckpoint(
  dir: string,
  src: Checkpoint,
  tensors: { name: string; shape: number[] }[],
  tensor: (name: string) => Float32Array,
): Promise<void> {
  const raw = JSON.parse(readFileSync(join(src.dir, "config.json"), "utf8")) as Record<string, unknown>;
  const dtypeKey = "dtype" in raw && !("torch_dtype" in raw) ? "dtype" : "torch_dtype";
  raw[dtypeKey] = "float32";
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(raw, null, 2)}\n`);
  const specs = [...tensors]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => ({ name: t.name, dtype: "F32" as const, shape: t.shape }));
  const w = await SafetensorsStreamWriter.create(join(dir, "model.safetensors"), specs);
  try {
    for (const { name } of specs) {
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
