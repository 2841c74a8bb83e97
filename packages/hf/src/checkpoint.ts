// A Hugging Face checkpoint folder: config.json plus model.safetensors or a sharded
// model.safetensors.index.json. Opening validates every header; tensor data is read on demand with
// positioned reads, so a multi-GB checkpoint is never held in memory.
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { UserError } from "@shortened/contracts";
import { decodeUtf8Strict, parseBoundedJson } from "./bounded-json.js";
import { type ModelConfig, readConfig } from "./config.js";
import { bytesToFloat32, isFloatDtype } from "./dtypes.js";
import { dequantizeGptq, type GptqLinear } from "./gptq-pack.js";
import { readGptqGroups, readGptqLinear } from "./gptq-read.js";
import { IO_PIECE_BYTES, readAllSync } from "./io-pieces.js";
import { readSafetensorsHeader, type SafetensorsHeader, type TensorEntry } from "./safetensors-header.js";
import { checkTensorLayout } from "./tensor-layout.js";

export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

/** HF name of a block weight: layerWeight(3, "self_attn.q_proj.weight") = "model.layers.3.self_attn.q_proj.weight" */
export function layerWeight(layer: number, suffix: string): string {
  return `model.layers.${layer}.${suffix}`;
}

const LAYER_NAME = /^model\.layers\.(\d+)\.(.+)$/;

/** The block index and the rest of a block tensor's name, or null for embed/norm/lm_head and the like. */
export function parseLayerName(name: string): { layer: number; suffix: string } | null {
  const m = LAYER_NAME.exec(name);
  return m ? { layer: Number(m[1]), suffix: m[2] } : null;
}

export interface ShardIndex {
  metadata: Record<string, unknown>;
  weightMap: Record<string, string>;
}

export class Checkpoint {
  private constructor(
    readonly dir: string,
    readonly config: ModelConfig,
    readonly sharded: boolean,
    /** one per safetensors file, in file-name order */
    readonly files: SafetensorsHeader[],
    readonly index: ShardIndex | null,
    readonly tensors: Map<string, TensorEntry>,
  ) {}

  static open(dir: string): Checkpoint {
    const abs = resolve(dir);
    if (!existsSync(abs)) throw new UserError("not_found", `model folder ${dir} does not exist`);
    const config = readConfig(abs);
    let files: SafetensorsHeader[];
    let index: ShardIndex | null = null;
    if (existsSync(join(abs, SINGLE_FILE))) {
      files = [readSafetensorsHeader(join(abs, SINGLE_FILE))];
    } else if (existsSync(join(abs, INDEX_FILE))) {
      index = readShardIndex(abs);
      const shardNames = [...new Set(Object.values(index.weightMap))].sort();
      for (const shard of shardNames) {
        if (!existsSync(join(abs, shard))) {
          throw new UserError(
            "invalid_checkpoint",
            `missing shard ${shard} (listed in ${INDEX_FILE}) in ${dir}`,
          );
        }
      }
      files = shardNames.map((s) => readSafetensorsHeader(join(abs, s)));
    } else {
      throw new UserError("invalid_checkpoint", `no ${SINGLE_FILE} or ${INDEX_FILE} in ${dir}`);
    }
    const tensors = new Map<string, TensorEntry>();
    for (const f of files) {
      for (const t of f.tensors) {
        const other = tensors.get(t.name);
        if (other) {
          throw new UserError(
            "invalid_checkpoint",
            `tensor ${t.name} is stored twice (${basename(other.file)}, ${basename(t.file)})`,
          );
        }
        tensors.set(t.name, t);
      }
    }
    if (index) {
      for (const [name, shard] of Object.entries(index.weightMap)) {
        if (basename(tensors.get(name)?.file ?? "") !== shard) {
          throw new UserError(
            "invalid_checkpoint",
            `${INDEX_FILE} puts ${name} in ${shard}, but that shard does not hold it`,
          );
        }
      }
      for (const t of tensors.values()) {
        if (!Object.hasOwn(index.weightMap, t.name)) {
          throw new UserError(
            "invalid_checkpoint",
            `${basename(t.file)} holds ${t.name}, which ${INDEX_FILE} does not list`,
          );
        }
      }
    }
    checkTensorLayout(config, tensors, dir);
    return new Checkpoint(abs, config, index !== null, files, index, tensors);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  entry(name: string): TensorEntry {
    const t = this.tensors.get(name);
    if (!t) throw new UserError("invalid_checkpoint", `tensor ${name} is not in ${this.dir}`);
    return t;
  }

  /** Stored bytes, unchanged (positioned reads of at most `pieceBytes` each). */
  readBytes(name: string, pieceBytes = IO_PIECE_BYTES): Buffer {
    const t = this.entry(name);
    const out = Buffer.allocUnsafe(t.byteLength);
    const fd = openSync(t.file, "r");
    try {
      const short = () =>
        new UserError("invalid_checkpoint", `${basename(t.file)} ended inside tensor ${name}`);
      readAllSync(fd, out, t.dataOffset, short, pieceBytes);
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /** Values as float32 (F16/BF16 widened exactly, F64 rounded). A GPTQ linear's `X.weight` is its dequantized
   *  weight [out, in] (exact in float32), so every float reader of the model reads a GPTQ checkpoint too. */
  readFloat32(name: string): Float32Array {
    const module = this.quantizedModule(name);
    if (module) return dequantizeGptq(readGptqLinear(this, module));
    const t = this.entry(name);
    if (!isFloatDtype(t.dtype))
      throw new UserError("invalid_checkpoint", `tensor ${name} is ${t.dtype}, not a float`);
    return bytesToFloat32(this.readBytes(name), t.dtype);
  }

  /** The module whose GPTQ tensors stand for the float tensor `name` ("….q_proj.weight" → "….q_proj"), or null
   *  when `name` is stored as it is. */
  quantizedModule(name: string): string | null {
    if (!this.config.quantization || !name.endsWith(".weight") || this.tensors.has(name)) return null;
    const module = name.slice(0, -".weight".length);
    return this.tensors.has(`${module}.qweight`) ? module : null;
  }

  /** One GPTQ linear, unpacked (see ./gptq-read.ts). */
  gptqLinear(module: string): GptqLinear {
    return readGptqLinear(this, module);
  }

  /** One GPTQ linear without its codes (zero points, scales, g_idx). */
  gptqGroups(module: string): Omit<GptqLinear, "codes"> {
    return readGptqGroups(this, module);
  }

  /** Shape of a tensor the model reads, also for a quantized linear's float weight [out, in]. */
  shapeOf(name: string): number[] {
    const module = this.quantizedModule(name);
    if (!module) return this.entry(name).shape;
    const [packedK, N] = this.entry(`${module}.qweight`).shape as [number, number];
    return [N, (packedK * 32) / this.config.quantization!.bits];
  }

  /** Parameter count as transformers reports it: a tied lm_head copy is not counted twice. A GPTQ linear
   *  counts as the float weight it stands for (in · out), not as the elements of its packed tensors (qweight,
   *  qzeros, scales, g_idx); its bytes are in `storedBytes`. */
  parameterCount(): number {
    let n = 0;
    for (const t of this.tensors.values()) {
      if (this.config.tieWordEmbeddings && t.name === "lm_head.weight") continue;
      const gptq = /\.(qweight|qzeros|scales|g_idx)$/.exec(t.name);
      if (gptq && this.config.quantization) {
        if (gptq[1] === "qweight")
          n += this.shapeOf(`${t.name.slice(0, -".qweight".length)}.weight`).reduce((a, b) => a * b, 1);
        continue;
      }
      n += t.shape.reduce((a, b) => a * b, 1);
    }
    return n;
  }

  /** Bytes of the stored tensors (packed ones as packed), a tied lm_head copy counted once. */
  storedBytes(): number {
    let n = 0;
    for (const t of this.tensors.values())
      if (!(this.config.tieWordEmbeddings && t.name === "lm_head.weight")) n += t.byteLength;
    return n;
  }
}

/** index → weight_map → name: a few levels; tens of thousands of tensors fit in a few MB. */
const INDEX_JSON_BOUNDS = { maxBytes: 64 << 20, maxDepth: 8 };

function readShardIndex(dir: string): ShardIndex {
  const path = join(dir, INDEX_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UserError(
      "invalid_checkpoint",
      `cannot read ${INDEX_FILE} in ${dir}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
  const json = parseBoundedJson(decodeUtf8Strict(bytes, path), INDEX_JSON_BOUNDS, `${INDEX_FILE} in ${dir}`);
  const o = json as Record<string, unknown> | null;
  const wm = o?.["weight_map"];
  if (typeof wm !== "object" || wm === null || Array.isArray(wm)) {
    throw new UserError("invalid_checkpoint", `${INDEX_FILE} in ${dir} has no weight_map object`);
  }
  for (const [name, shard] of Object.entries(wm)) {
    if (typeof shard !== "string" || shard !== basename(shard) || !shard.endsWith(".safetensors")) {
      throw new UserError(
        "invalid_checkpoint",
        `${INDEX_FILE}: bad shard file name ${JSON.stringify(shard)} for ${name}`,
      );
    }
  }
  const meta = o?.["metadata"];
  return {
    metadata: typeof meta === "object" && meta !== null ? (meta as Record<string, unknown>) : {},
    weightMap: wm as Record<string, string>,
  };
}
