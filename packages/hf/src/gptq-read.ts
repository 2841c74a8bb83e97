// Reading one GPTQ linear of a checkpoint: its packed tensors unpacked (codes, zero points as readers take them,
// scales widened, g_idx or the sequential default), checked against the settings of quantization_config.
import { UserError } from "@shortened/contracts";
import type { Checkpoint } from "./checkpoint.js";
import { groupCount } from "./gptq-config.js";
import {
  type GptqLinear,
  sequentialGroups,
  unpackAlongCols,
  unpackAlongRows,
  zerosFromStored,
} from "./gptq-pack.js";

/** The linear `module` (e.g. "model.layers.3.mlp.up_proj") of a GPTQ checkpoint, unpacked. */
export function readGptqLinear(ckpt: Checkpoint, module: string): GptqLinear {
  const groups = readGptqGroups(ckpt, module);
  const b = ckpt.readBytes(`${module}.qweight`);
  const packed = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const codes = unpackAlongRows(packed, groups.inFeatures, groups.outFeatures, groups.bits);
  return { ...groups, codes };
}

/** A GPTQ linear without its codes: shapes, zero points, scales and g_idx (a small read). */
export function readGptqGroups(ckpt: Checkpoint, module: string): Omit<GptqLinear, "codes"> {
  const q = ckpt.config.quantization;
  if (!q) throw new UserError("invalid_checkpoint", `${ckpt.dir} is not a GPTQ checkpoint`);
  const qweight = ckpt.entry(`${module}.qweight`);
  const N = qweight.shape[1]!;
  const K = (qweight.shape[0]! * 32) / q.bits;
  const G = groupCount(q, K);
  const int32 = (name: string) => {
    const b = ckpt.readBytes(name);
    return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const zeros = zerosFromStored(unpackAlongCols(int32(`${module}.qzeros`), G, N, q.bits), q.checkpointFormat);
  const scales = ckpt.readFloat32(`${module}.scales`);
  const gIdx = ckpt.has(`${module}.g_idx`)
    ? Int32Array.from(int32(`${module}.g_idx`))
    : sequentialGroups(K, q.groupSize);
  for (let i = 0; i < K; i++) {
    const g = gIdx[i]!;
    if (!(g >= 0 && g < G))
      throw new UserError(
        "invalid_checkpoint",
        `${ckpt.dir}: ${module}.g_idx[${i}] = ${g} is not a group of this linear (0..${G - 1})`,
      );
  }
  return { bits: q.bits, inFeatures: K, outFeatures: N, groups: G, zeros, scales, gIdx };
}
