// Writes the GPTQ checkpoint as the quantization goes: the header (every tensor's name, dtype and shape is known
// from the config) first, the float tensors that stay (embedding, final norm, head) next, then each block's
// packed linears and its norms and biases as soon as the block is done, so no more than one block's packed
// tensors are held. Classic layout (../shared/oracle README "The checkpoint"): qweight int32 [in·bits/32, out],
// qzeros int32 [G, out·bits/32] (v1: zero − 1), scales float16 [G, out], g_idx int32 [in]; every other tensor
// copied byte for byte in its stored dtype; config.json and quantize_config.json with AutoGPTQ's dict.
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  blockTensorLayout,
  type Checkpoint,
  configJsonText,
  float32ToF16Bytes,
  type GptqConfig,
  groupCount,
  packAlongCols,
  packAlongRows,
  quantizationConfigJson,
  SafetensorsStreamWriter,
  type StoredDtype,
  zerosToStored,
} from "@shortened/hf";
import { roundToHalf } from "./quantizer.js";

export interface PackedLinearInput {
  codes: Uint8Array;
  scales: Float64Array;
  zeros: Uint8Array;
  gIdx: Int32Array;
  groups: number;
}

const bytesOf = (a: Int32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class GptqWriter {
  private constructor(
    private readonly src: Checkpoint,
    private readonly q: GptqConfig,
    private readonly w: SafetensorsStreamWriter,
    /** stored names of each block, in write order */
    private readonly blockNames: string[][],
  ) {}

  static async create(dir: string, src: Checkpoint, q: GptqConfig): Promise<GptqWriter> {
    const c = src.config;
    const layout = blockTensorLayout(c);
    const specs: { name: string; dtype: StoredDtype; shape: number[] }[] = [];
    const blockNames: string[][] = [];
    const blockTensor = /^model\.layers\.(\d+)\./;
    for (const t of src.tensors.values())
      if (!blockTensor.test(t.name)) specs.push({ name: t.name, dtype: t.dtype, shape: t.shape });
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const names: string[] = [];
      for (const t of layout) {
        const name = `model.layers.${i}.${t.suffix}`;
        if (t.role !== "weight") {
          const e = src.entry(name);
          specs.push({ name, dtype: e.dtype, shape: e.shape });
          names.push(name);
          continue;
        }
        const [out, inF] = t.shape as [number, number];
        const m = name.slice(0, -".weight".length);
        const G = groupCount(q, inF);
        specs.push(
          { name: `${m}.qweight`, dtype: "I32", shape: [(inF * q.bits) / 32, out] },
          { name: `${m}.qzeros`, dtype: "I32", shape: [G, (out * q.bits) / 32] },
          { name: `${m}.scales`, dtype: "F16", shape: [G, out] },
          { name: `${m}.g_idx`, dtype: "I32", shape: [inF] },
        );
        names.push(`${m}.qweight`, `${m}.qzeros`, `${m}.scales`, `${m}.g_idx`);
      }
      blockNames.push(names);
    }
    const meta = {
      format: "pt",
      gptq_bits: String(q.bits),
      gptq_group_size: String(q.groupSize),
      gptq_desc_act: String(q.descAct),
      gptq_damp_percent: String(q.dampPercent),
      gptq_checkpoint_format: q.checkpointFormat,
      quantizer: "shortened",
    };
    const w = await SafetensorsStreamWriter.create(join(dir, "model.safetensors"), specs, meta);
    for (const s of specs) if (!blockTensor.test(s.name)) await w.append(src.readBytes(s.name));
    const sourceConfig = readFileSync(join(src.dir, "config.json"), "utf8");
    const raw = JSON.parse(sourceConfig) as Record<string, unknown>;
    raw["quantization_config"] = quantizationConfigJson(q);
    writeFileSync(join(dir, "config.json"), configJsonText(raw, sourceConfig));
    writeFileSync(
      join(dir, "quantize_config.json"),
      `${JSON.stringify(quantizationConfigJson(q), null, 2)}\n`,
    );
    for (const f of readdirSync(src.dir)) {
      if (f === "config.json" || f.endsWith(".safetensors") || f === "model.safetensors.index.json") continue;
      if (statSync(join(src.dir, f)).isFile()) copyFileSync(join(src.dir, f), join(dir, f));
    }
    return new GptqWriter(src, q, w, blockNames);
  }

  /** Block i's tensors, its linears given as `packed(module)`, in the header's order. */
  async writeBlock(i: number, packed: (module: string) => PackedLinearInput): Promise<void> {
    const { bits, checkpointFormat } = this.q;
    for (const name of this.blockNames[i]!) {
      if (!/\.(qweight|qzeros|scales|g_idx)$/.test(name)) {
        await this.w.append(this.src.readBytes(name));
        continue;
      }
      const m = name.slice(0, name.lastIndexOf("."));
      const p = packed(m);
      const K = p.gIdx.length;
      const N = p.codes.length / K;
      if (name.endsWith(".qweight")) await this.w.append(bytesOf(packAlongRows(p.codes, K, N, bits)));
      else if (name.endsWith(".qzeros"))
        await this.w.append(
          bytesOf(packAlongCols(zerosToStored(p.zeros, bits, checkpointFormat), p.groups, N, bits)),
        );
      else if (name.endsWith(".scales")) {
        const f = new Float32Array(p.scales.length);
        for (let k = 0; k < f.length; k++) f[k] = roundToHalf(p.scales[k]!);
        await this.w.append(float32ToF16Bytes(f));
      } else await this.w.append(bytesOf(p.gIdx));
    }
  }

  async close(): Promise<void> {
    await this.w.close();
  }
}
