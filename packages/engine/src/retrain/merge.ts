// Merging a LoRA adapter into its base model: W' = W + (alpha / r) · B·A (PEFT merge_and_unload), computed
// in float64 and rounded once to float32, written as a Hugging Face checkpoint in the base's stored dtype
// (BF16/F16 rounded to nearest even).
import { UserError } from "@shortened/contracts";
import {
  checkOutputTarget,
  type NamedTensor,
  type OutputDtype,
  readTensorFile,
  writeFolderAtomically,
  writeHfCheckpoint,
} from "@shortened/hf";
import { parameterShapes } from "../models/architecture.js";
import { openCheckpoint } from "../models/weights.js";
import {
  adapterFile,
  type LoraSpec,
  loraA,
  loraB,
  loraModules,
  loraSpec,
  readAdapter,
  readAdapterConfig,
} from "./lora-adapter.js";

/** W + scale · B·A for W [out, in], A [r, in], B [out, r]. */
export function mergedWeight(
  w: Float32Array,
  a: Float32Array,
  b: Float32Array,
  out: number,
  inF: number,
  r: number,
  scale: number,
): Float32Array {
  const res = new Float32Array(out * inF);
  const row = new Float64Array(inF);
  for (let o = 0; o < out; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const bk = b[o * r + k]!;
      if (bk === 0) continue;
      const off = k * inF;
      for (let i = 0; i < inF; i++) row[i]! += bk * a[off + i]!;
    }
    for (let i = 0; i < inF; i++) res[o * inF + i] = w[o * inF + i]! + scale * row[i]!;
  }
  return res;
}

/** The merged tensor of `name` if an adapter module covers it, else undefined. */
export function mergedTensor(
  spec: LoraSpec,
  adapter: Map<string, NamedTensor>,
  name: string,
  base: () => Float32Array,
): Float32Array | undefined {
  const m = spec.modules.find((x) => `${x.prefix}.weight` === name);
  if (!m) return undefined;
  return mergedWeight(
    base(),
    adapter.get(loraA(m.prefix))!.data,
    adapter.get(loraB(m.prefix))!.data,
    m.out,
    m.in,
    spec.r,
    spec.alpha / spec.r,
  );
}

export interface MergeOptions {
  model: string;
  adapter: string;
  out: string;
  force?: boolean;
  /** default: adapter_config.json's lora_alpha */
  alpha?: number;
}

export interface MergeResult {
  out: string;
  r: number;
  alpha: number;
  modules: number;
  /** the stored dtype of the merged checkpoint (the base model's) */
  dtype: OutputDtype;
}

export async function mergeLora(o: MergeOptions): Promise<MergeResult> {
  const ckpt = openCheckpoint(o.model);
  const file = adapterFile(o.adapter);
  const cfg = readAdapterConfig(o.adapter);
  const stored = readTensorFile(file);
  const names = [...stored.keys()].map((k) => k.replace(".default", ""));
  const targets =
    cfg.targets ??
    loraModules(ckpt.config)
      .map((m) => m.name)
      .filter((t) => names.some((n) => n.includes(`.${t}.lora_`)));
  const anyA = [...stored.entries()].find(([k]) => k.includes("lora_A"));
  if (!anyA) throw new UserError("invalid_data", `adapter ${o.adapter} has no lora_A tensors`);
  const r = cfg.r ?? anyA[1].dims[0]!;
  const alpha = o.alpha ?? cfg.alpha;
  if (alpha === undefined)
    throw new UserError("bad_request", `adapter ${o.adapter} has no adapter_config.json: give \`alpha\``);
  const spec = loraSpec(ckpt.config, r, alpha, targets);
  const adapter = readAdapter(o.adapter, spec);
  const out = checkOutputTarget(o.out, o.force ?? false, [ckpt.dir]);
  let dtype: OutputDtype = "F32";
  await writeFolderAtomically(out, async (dir) => {
    dtype = await writeHfCheckpoint(
      dir,
      ckpt,
      parameterShapes(ckpt.config),
      (name) => mergedTensor(spec, adapter, name, () => ckpt.readFloat32(name)) ?? ckpt.readFloat32(name),
    );
  });
  return { out, r, alpha, modules: spec.modules.length, dtype };
}
