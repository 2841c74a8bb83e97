// LoRA adapters in PEFT layout: which modules get one (layer by layer, the architecture's linear layers named
// by the targets, e.g. q,k,v,o,gate,up,down), their tensor names (get_peft_model_state_dict without the adapter name), reading a given adapter (a folder or its
// adapter_model.safetensors) with every shape checked against the model, and writing one.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loraTargetNames, UserError } from "@shortened/contracts";
import { type ModelConfig, type NamedTensor, readTensorFile, writeTensorFile } from "@shortened/hf";
import { architectureOf, layerName } from "../models/architecture.js";
import { mulberry32 } from "../random.js";

/** The linear layers of a block that LoRA can target, by PEFT name ("q_proj"), with their path in the block
 *  ("self_attn.q_proj") and [out, in], in the architecture's order. */
export function loraModules(c: ModelConfig): { name: string; module: string; out: number; in: number }[] {
  return architectureOf(c)
    .blockTensors.filter((t) => t.role === "weight")
    .map((t) => {
      const module = t.suffix.replace(/\.weight$/, "");
      return { name: module.split(".").pop()!, module, out: t.shape[0]!, in: t.shape[1]! };
    });
}

/** The modules LoRA targets when none are given: the seven projections of the LLaMA block (the paper's), or
 *  Phi-3's four fused ones (qkv_proj, o_proj, gate_up_proj, down_proj; PEFT names, as the oracle). */
export function defaultLoraTargets(c: ModelConfig): string[] {
  return c.modelType === "phi3" ? ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"] : [...loraTargetNames];
}

export interface LoraModule {
  /** e.g. "model.layers.3.self_attn.q_proj" */
  prefix: string;
  in: number;
  out: number;
}

export interface LoraSpec {
  r: number;
  alpha: number;
  targets: string[];
  modules: LoraModule[];
}

export const loraA = (m: string) => `base_model.model.${m}.lora_A.weight`;
export const loraB = (m: string) => `base_model.model.${m}.lora_B.weight`;

/** Checks r and the targets against the model, before any compute. */
export function loraSpec(c: ModelConfig, r: number, alpha: number, targets: string[]): LoraSpec {
  if (!Number.isInteger(r) || r < 1)
    throw new UserError("bad_request", `\`r\` must be a positive integer (got ${r})`);
  if (!Number.isFinite(alpha) || alpha <= 0)
    throw new UserError("bad_request", `\`alpha\` must be positive (got ${alpha})`);
  if (targets.length === 0) throw new UserError("bad_request", "`targets` is empty");
  const known = loraModules(c);
  for (const t of targets) {
    if (!known.some((m) => m.name === t)) {
      throw new UserError(
        "bad_request",
        `unknown LoRA target module "${t}" (known: ${known.map((m) => m.name).join(", ")})`,
      );
    }
  }
  const modules: LoraModule[] = [];
  for (let i = 0; i < c.numHiddenLayers; i++) {
    for (const m of known) {
      if (!targets.includes(m.name)) continue;
      if (r > Math.min(m.out, m.in)) {
        throw new UserError(
          "bad_request",
          `\`r\` ${r} exceeds the width of ${m.name} (${m.out}×${m.in}): r must be at most ${Math.min(m.out, m.in)}`,
        );
      }
      modules.push({ prefix: layerName(i, m.module), in: m.in, out: m.out });
    }
  }
  return { r, alpha, targets, modules };
}

/** A = U(−1, 1)/√in (kaiming_uniform_(a=√5)'s distribution), B = 0, drawn with mulberry32(seed). */
export function initAdapter(spec: LoraSpec, seed: number): Map<string, NamedTensor> {
  const next = mulberry32(seed);
  const out = new Map<string, NamedTensor>();
  for (const m of spec.modules) {
    const a = new Float32Array(spec.r * m.in);
    const bound = 1 / Math.sqrt(m.in);
    for (let i = 0; i < a.length; i++) a[i] = ((next() / 2 ** 32) * 2 - 1) * bound;
    out.set(loraA(m.prefix), { dims: [spec.r, m.in], data: a });
    out.set(loraB(m.prefix), { dims: [m.out, spec.r], data: new Float32Array(m.out * spec.r) });
  }
  return out;
}

/** The adapter file of a PEFT folder, or the file itself. */
export function adapterFile(path: string): string {
  if (!existsSync(path)) throw new UserError("not_found", `adapter ${path} does not exist`);
  const file = statSync(path).isDirectory() ? join(path, "adapter_model.safetensors") : path;
  if (!existsSync(file)) throw new UserError("not_found", `${path} has no adapter_model.safetensors`);
  return file;
}

/** Reads an adapter and checks that it fits `spec` (names, r, shapes); B may be absent (= 0), as PEFT init. */
export function readAdapter(path: string, spec: LoraSpec): Map<string, NamedTensor> {
  const file = adapterFile(path);
  const raw = readTensorFile(file);
  const tensors = new Map<string, NamedTensor>();
  for (const [k, v] of raw) tensors.set(k.replace(".default", ""), v);
  const wanted = new Set(spec.modules.flatMap((m) => [loraA(m.prefix), loraB(m.prefix)]));
  for (const k of tensors.keys()) {
    if (!wanted.has(k))
      throw new UserError(
        "invalid_data",
        `adapter ${path} does not fit the model: unexpected tensor ${k} (for \`targets\` ${spec.targets.join(",")})`,
      );
  }
  const out = new Map<string, NamedTensor>();
  for (const m of spec.modules) {
    const a = tensors.get(loraA(m.prefix));
    if (!a)
      throw new UserError(
        "invalid_data",
        `adapter ${path} does not fit the model: it lacks ${loraA(m.prefix)}`,
      );
    const b = tensors.get(loraB(m.prefix)) ?? {
      dims: [m.out, spec.r],
      data: new Float32Array(m.out * spec.r),
    };
    const fits = (t: NamedTensor, dims: number[]) => t.dims.join(",") === dims.join(",");
    if (!fits(a, [spec.r, m.in]) || !fits(b, [m.out, spec.r])) {
      throw new UserError(
        "invalid_data",
        `adapter ${path} does not fit the model: ${m.prefix} has A [${a.dims}] and B [${b.dims}], expected [${spec.r},${m.in}] and [${m.out},${spec.r}] (r ${spec.r})`,
      );
    }
    out.set(loraA(m.prefix), a);
    out.set(loraB(m.prefix), b);
  }
  return out;
}

/** r and the targets of an adapter folder's adapter_config.json, when there is one. */
export function readAdapterConfig(path: string): { r?: number; alpha?: number; targets?: string[] } {
  const dir = existsSync(path) && statSync(path).isDirectory() ? path : join(path, "..");
  const file = join(dir, "adapter_config.json");
  if (!existsSync(file)) return {};
  try {
    const c = JSON.parse(readFileSync(file, "utf8")) as {
      r?: number;
      lora_alpha?: number;
      target_modules?: string[];
    };
    return { r: c.r, alpha: c.lora_alpha, targets: c.target_modules };
  } catch (e) {
    throw new UserError("invalid_data", `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** adapter_config.json + adapter_model.safetensors, as PEFT's save_pretrained writes them. */
export function writeAdapter(
  dir: string,
  spec: LoraSpec,
  tensors: Map<string, NamedTensor>,
  baseModel: string,
  dropout = 0,
): void {
  writeTensorFile(join(dir, "adapter_model.safetensors"), tensors);
  const config = {
    base_model_name_or_path: baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    lora_alpha: spec.alpha,
    lora_dropout: dropout,
    modules_to_save: null,
    peft_type: "LORA",
    r: spec.r,
    target_modules: spec.targets,
    task_type: "CAUSAL_LM",
  };
  writeFileSync(join(dir, "adapter_config.json"), `${JSON.stringify(config, null, 2)}\n`);
}
