// quantization_config of a GPTQ checkpoint (AutoGPTQ's BaseQuantizeConfig.to_dict(), which transformers, optimum,
// GPTQModel and vLLM read), validated: the bits and group sizes the classic layout can hold, and the two zero-point
// conventions ("gptq": stored zero − 1, AutoGPTQ v1; "gptq_v2": the zero itself, GPTQModel).
import { UserError } from "@shortened/contracts";

export const GPTQ_BITS = [2, 3, 4, 8] as const;
export type GptqBits = (typeof GPTQ_BITS)[number];
export type GptqCheckpointFormat = "gptq" | "gptq_v2";

export interface GptqConfig {
  bits: GptqBits;
  /** input columns per group of scales and zeros; −1: one group per output row */
  groupSize: number;
  descAct: boolean;
  staticGroups: boolean;
  sym: boolean;
  trueSequential: boolean;
  dampPercent: number;
  checkpointFormat: GptqCheckpointFormat;
}

/** AutoGPTQ 0.7.1's BaseQuantizeConfig as the paper's repository called it (bits 4, group 128, desc_act). */
export const PAPER_GPTQ: GptqConfig = {
  bits: 4,
  groupSize: 128,
  descAct: true,
  staticGroups: false,
  sym: true,
  trueSequential: true,
  dampPercent: 0.01,
  checkpointFormat: "gptq",
};

/** The config's `quantization_config` as a GptqConfig, null when the model is not quantized; any other
 *  quantization method (awq, bitsandbytes, fp8, …) is refused with its name. */
export function parseQuantizationConfig(raw: Record<string, unknown>, where: string): GptqConfig | null {
  const q = raw["quantization_config"];
  if (q === undefined || q === null) return null;
  const bad = (msg: string) => new UserError("invalid_checkpoint", `${where}: quantization_config ${msg}`);
  if (typeof q !== "object" || Array.isArray(q)) throw bad("must be an object");
  const o = q as Record<string, unknown>;
  const method = o["quant_method"] ?? "gptq";
  if (method !== "gptq")
    throw new UserError(
      "unsupported_model",
      `${where}: quantization method ${JSON.stringify(method)} is not supported (only GPTQ checkpoints)`,
    );
  const bits = o["bits"];
  if (!GPTQ_BITS.includes(bits as GptqBits))
    throw bad(`"bits" must be 2, 3, 4 or 8 (got ${JSON.stringify(bits)})`);
  const groupSize = o["group_size"] ?? -1;
  if (typeof groupSize !== "number" || !Number.isInteger(groupSize) || (groupSize !== -1 && groupSize < 1))
    throw bad(`"group_size" must be −1 or a positive integer (got ${JSON.stringify(groupSize)})`);
  const format = o["checkpoint_format"] ?? "gptq";
  if (format !== "gptq" && format !== "gptq_v2")
    throw new UserError(
      "unsupported_model",
      `${where}: GPTQ checkpoint_format ${JSON.stringify(format)} is not supported (gptq, gptq_v2)`,
    );
  const flag = (key: string, fallback: boolean): boolean => {
    const v = o[key] ?? fallback;
    if (typeof v !== "boolean") throw bad(`"${key}" must be true or false (got ${JSON.stringify(v)})`);
    return v;
  };
  const damp = o["damp_percent"] ?? 0.01;
  if (typeof damp !== "number" || !(damp >= 0)) throw bad(`"damp_percent" must be a number ≥ 0`);
  return {
    bits: bits as GptqBits,
    groupSize,
    descAct: flag("desc_act", false),
    staticGroups: flag("static_groups", false),
    sym: flag("sym", true),
    trueSequential: flag("true_sequential", true),
    dampPercent: damp,
    checkpointFormat: format,
  };
}

/** AutoGPTQ's BaseQuantizeConfig.to_dict() (the `quantization_config` of config.json and quantize_config.json). */
export function quantizationConfigJson(c: GptqConfig): Record<string, unknown> {
  return {
    bits: c.bits,
    group_size: c.groupSize,
    damp_percent: c.dampPercent,
    desc_act: c.descAct,
    static_groups: c.staticGroups,
    sym: c.sym,
    true_sequential: c.trueSequential,
    model_name_or_path: null,
    model_file_base_name: "model",
    quant_method: "gptq",
    checkpoint_format: c.checkpointFormat,
  };
}

/** Groups of a linear with `inFeatures` inputs. */
export function groupCount(c: Pick<GptqConfig, "groupSize">, inFeatures: number): number {
  return c.groupSize === -1 ? 1 : Math.ceil(inFeatures / c.groupSize);
}

/** Why a linear [out, in] cannot be stored in the classic layout with these settings, or null. The packing
 *  needs in·bits and out·bits to fill whole 32-bit words (AutoGPTQ's kernels want multiples of 32; 4-bit readers
 *  of this repository take multiples of 8), and the groups must tile the inputs. */
export function gptqShapeProblem(
  c: { bits: number; groupSize: number },
  out: number,
  inF: number,
): string | null {
  if ((inF * c.bits) % 32 !== 0 || (out * c.bits) % 32 !== 0)
    return `in (${inF}) and out (${out}) features times ${c.bits} bits must fill whole 32-bit words`;
  if (c.groupSize !== -1 && inF % c.groupSize !== 0)
    return `group size ${c.groupSize} does not divide the ${inF} input features`;
  return null;
}
