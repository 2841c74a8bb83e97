// `rope_scaling` of config.json, read as transformers 4.57.6 reads it (modeling_rope_utils.py and the config
// classes; the oracle's parse_rope_scaling): the type from `rope_type`, else the legacy `type` (llama, qwen2 and
// qwen3 copy `type` over `rope_type`), the keys each type requires, and Phi-3's own rules (exactly `type`,
// `short_factor`, `long_factor`; legacy `su` / `yarn` mean longrope). Anything else is refused with the key and
// value, never ignored.
import { UserError } from "@shortened/contracts";

export type RopeScaling =
  | { type: "default" }
  | { type: "linear"; factor: number }
  | { type: "dynamic"; factor: number }
  | {
      type: "yarn";
      factor: number;
      attentionFactor: number | null;
      betaFast: number;
      betaSlow: number;
      mscale: number | null;
      mscaleAllDim: number | null;
      /** rope_scaling.original_max_position_embeddings, else null (max_position_embeddings is used) */
      originalMaxPositions: number | null;
      truncate: boolean;
    }
  | {
      type: "longrope";
      shortFactor: number[];
      longFactor: number[];
      factor: number | null;
      attentionFactor: number | null;
    }
  | {
      type: "llama3";
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositions: number;
    };

export type RopeType = RopeScaling["type"];

/** rope_type → the keys transformers requires (ROPE_VALIDATION_FUNCTIONS) */
const REQUIRED: Record<RopeType, string[]> = {
  default: [],
  linear: ["factor"],
  dynamic: ["factor"],
  yarn: ["factor"],
  longrope: ["short_factor", "long_factor"],
  llama3: ["factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"],
};
export const ROPE_TYPES = Object.keys(REQUIRED) as RopeType[];

const invalid = (where: string, msg: string) => new UserError("invalid_checkpoint", `${where}: ${msg}`);

/**
 * The rope_scaling of a config. `rotaryDim` is the number of rotated channels per head (Phi-3's
 * partial_rotary_factor applied), which fixes the length of longrope's factor lists.
 */
export function parseRopeScaling(
  raw: Record<string, unknown>,
  modelType: string,
  rotaryDim: number,
  where: string,
): RopeScaling {
  const value = raw["rope_scaling"];
  if (value === undefined || value === null) return { type: "default" };
  if (typeof value !== "object" || Array.isArray(value))
    throw invalid(where, `"rope_scaling" must be an object or null (got ${JSON.stringify(value)})`);
  const rs: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (Object.keys(rs).length === 0) return { type: "default" };
  const show = JSON.stringify(value);
  if (modelType === "phi3") {
    // Phi3Config._rope_scaling_adjustment / _rope_scaling_validation
    if (rs["type"] === "su" || rs["type"] === "yarn") rs["type"] = "longrope";
    const keys = Object.keys(rs).sort();
    if (keys.join(",") !== "long_factor,short_factor,type")
      throw invalid(
        where,
        `phi3 "rope_scaling" must have exactly the keys "type", "short_factor" and "long_factor" (got ${show})`,
      );
    if (rs["type"] !== "longrope")
      throw unsupported(where, `phi3 "rope_scaling.type" ${JSON.stringify(rs["type"])} (only "longrope")`);
  } else if (["llama", "qwen2", "qwen3"].includes(modelType) && "type" in rs) {
    rs["rope_type"] = rs["type"]; // the config classes copy the legacy key, so "type" wins
  }
  const type = rs["rope_type"] ?? rs["type"];
  const typeKey = "rope_type" in rs ? "rope_type" : "type";
  if (typeof type !== "string" || !(type in REQUIRED))
    throw unsupported(
      where,
      `"rope_scaling.${typeKey}" ${JSON.stringify(type ?? null)} (supported: ${ROPE_TYPES.join(", ")})`,
    );
  const rtype = type as RopeType;
  const missing = REQUIRED[rtype].filter((k) => !(k in rs));
  if (missing.length > 0)
    throw invalid(
      where,
      `"rope_scaling" of rope_type "${rtype}" lacks ${missing.map((k) => `"${k}"`).join(", ")}`,
    );

  const num = (key: string, positive = true): number => {
    const v = rs[key];
    if (typeof v !== "number" || !Number.isFinite(v) || (positive && v <= 0))
      throw invalid(
        where,
        `"rope_scaling.${key}" must be a ${positive ? "positive " : ""}number (got ${JSON.stringify(v)})`,
      );
    return v;
  };
  const optNum = (key: string): number | null =>
    rs[key] === undefined || rs[key] === null ? null : num(key);
  switch (rtype) {
    case "default":
      return { type: "default" };
    case "linear":
    case "dynamic":
      return { type: rtype, factor: num("factor") };
    case "yarn": {
      const truncate = rs["truncate"] ?? true;
      if (typeof truncate !== "boolean")
        throw invalid(
          where,
          `"rope_scaling.truncate" must be true or false (got ${JSON.stringify(truncate)})`,
        );
      const orig = optNum("original_max_position_embeddings");
      return {
        type: "yarn",
        factor: num("factor"),
        attentionFactor: optNum("attention_factor"),
        // transformers: `rope_scaling.get("beta_fast") or 32`
        betaFast: optNum("beta_fast") || 32,
        betaSlow: optNum("beta_slow") || 1,
        mscale: optNum("mscale"),
        mscaleAllDim: optNum("mscale_all_dim"),
        originalMaxPositions: orig,
        truncate,
      };
    }
    case "longrope": {
      const n = Math.floor(rotaryDim / 2);
      const list = (key: string): number[] => {
        const v = rs[key];
        if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x) && x > 0))
          throw invalid(
            where,
            `"rope_scaling.${key}" must be a list of positive numbers (got ${JSON.stringify(v)})`,
          );
        if (v.length !== n)
          throw invalid(
            where,
            `"rope_scaling.${key}" must have ${n} entries (rotary dim ${rotaryDim} / 2), got ${v.length}`,
          );
        return v as number[];
      };
      return {
        type: "longrope",
        shortFactor: list("short_factor"),
        longFactor: list("long_factor"),
        factor: optNum("factor"),
        attentionFactor: optNum("attention_factor"),
      };
    }
    case "llama3":
      return {
        type: "llama3",
        factor: num("factor"),
        lowFreqFactor: num("low_freq_factor"),
        highFreqFactor: num("high_freq_factor"),
        originalMaxPositions: num("original_max_position_embeddings"),
      };
  }
}

function unsupported(where: string, what: string): UserError {
  return new UserError("unsupported_model", `${where}: ${what} is not supported`);
}
