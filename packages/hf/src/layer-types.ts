// Which layers attend through a sliding window, as transformers 4.57.6 decides it (the oracle README,
// "Attention windows and layer types"):
//   mistral, phi3      every layer, when sliding_window is not null
//   qwen2, qwen3       layer_types if present, else layer i slides iff use_sliding_window and i ≥ max_window_layers;
//                      sliding_window counts only when use_sliding_window
//   gemma2             layer_types if present, else even layers slide
//   gemma3_text        layer_types if present, else layer i slides iff (i + 1) % sliding_window_pattern ≠ 0
// Only "full_attention" and "sliding_attention" are accepted in layer_types.
import { UserError } from "@shortened/contracts";
import { CONFIG_BOUNDS } from "./config-bounds.js";

export type LayerType = "full_attention" | "sliding_attention";
export const LAYER_TYPES: readonly LayerType[] = ["full_attention", "sliding_attention"];

export interface LayerAttentionConfig {
  /** explicit or derived layer_types for the families that have them (qwen2, qwen3, gemma2, gemma3_text) */
  layerTypes: LayerType[] | null;
  /** each layer's window (null: full causal attention) */
  layerWindows: (number | null)[];
  /** qwen2 / qwen3 */
  useSlidingWindow: boolean | null;
  maxWindowLayers: number | null;
}

export function layerAttention(
  raw: Record<string, unknown>,
  modelType: string,
  numLayers: number,
  where: string,
): LayerAttentionConfig {
  const window = (fallback: number | null): number | null => {
    const v = raw["sliding_window"] === undefined ? fallback : raw["sliding_window"];
    if (v === null) return null;
    const [min, max] = CONFIG_BOUNDS["sliding_window"]!;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      throw new UserError(
        "invalid_checkpoint",
        `${where}: "sliding_window" must be an integer from ${min} to ${max}, or null (got ${JSON.stringify(v)})`,
      );
    return v;
  };
  const uniform = (w: number | null): LayerAttentionConfig => ({
    layerTypes: null,
    layerWindows: Array.from({ length: numLayers }, () => w),
    useSlidingWindow: null,
    maxWindowLayers: null,
  });
  // only the families that read layer_types check it (mistral ignores it, as transformers does)
  const explicit = () => explicitLayerTypes(raw, numLayers, where);
  switch (modelType) {
    case "mistral":
      return uniform(window(4096));
    case "phi3":
      return uniform(window(null));
    case "qwen2":
    case "qwen3": {
      const use = raw["use_sliding_window"] ?? false;
      if (typeof use !== "boolean")
        throw new UserError(
          "invalid_checkpoint",
          `${where}: "use_sliding_window" must be true or false (got ${JSON.stringify(use)})`,
        );
      const w = use ? window(4096) : null;
      const mwl = raw["max_window_layers"] ?? 28;
      if (typeof mwl !== "number" || !Number.isInteger(mwl) || mwl < 0)
        throw new UserError(
          "invalid_checkpoint",
          `${where}: "max_window_layers" must be a non-negative integer (got ${JSON.stringify(mwl)})`,
        );
      const types =
        explicit() ??
        Array.from(
          { length: numLayers },
          (_, i): LayerType => (w !== null && i >= mwl ? "sliding_attention" : "full_attention"),
        );
      if (types.includes("sliding_attention") && w === null)
        throw new UserError(
          "invalid_checkpoint",
          `${where}: "layer_types" has sliding layers but "use_sliding_window" is false (transformers raises here too)`,
        );
      return {
        layerTypes: types,
        layerWindows: types.map((t) => slidingOr(t, w)),
        useSlidingWindow: use,
        maxWindowLayers: mwl,
      };
    }
    case "gemma2":
    case "gemma3_text": {
      const w = window(4096);
      if (w === null)
        throw new UserError(
          "invalid_checkpoint",
          `${where}: "sliding_window" null is not supported for ${modelType} (transformers always builds the sliding mask)`,
        );
      let types = explicit();
      if (!types) {
        let pattern = 2;
        if (modelType === "gemma3_text") {
          const p = raw["sliding_window_pattern"] ?? 6;
          if (typeof p !== "number" || !Number.isInteger(p) || p <= 0)
            throw new UserError(
              "invalid_checkpoint",
              `${where}: "sliding_window_pattern" must be a positive integer (got ${JSON.stringify(p)})`,
            );
          pattern = p;
        }
        types = Array.from(
          { length: numLayers },
          (_, i): LayerType => ((i + 1) % pattern !== 0 ? "sliding_attention" : "full_attention"),
        );
      }
      return {
        layerTypes: types,
        layerWindows: types.map((t) => slidingOr(t, w)),
        useSlidingWindow: null,
        maxWindowLayers: null,
      };
    }
    default:
      return uniform(null);
  }
}

const slidingOr = (t: LayerType, w: number | null) => (t === "sliding_attention" ? w : null);

function explicitLayerTypes(
  raw: Record<string, unknown>,
  numLayers: number,
  where: string,
): LayerType[] | null {
  const lt = raw["layer_types"];
  if (lt === undefined || lt === null) return null;
  if (!Array.isArray(lt) || lt.length !== numLayers)
    throw new UserError(
      "invalid_checkpoint",
      `${where}: "layer_types" must be a list of num_hidden_layers (${numLayers}) entries (got ${JSON.stringify(lt)})`,
    );
  const bad = [...new Set(lt.filter((t) => !LAYER_TYPES.includes(t as LayerType)))];
  if (bad.length > 0)
    throw new UserError(
      "unsupported_model",
      `${where}: "layer_types" entries ${JSON.stringify(bad)} are not supported (only ${LAYER_TYPES.join(", ")})`,
    );
  return lt as LayerType[];
}
