// Rotary position embeddings (RoPE) in the Hugging Face half layout: tables of cos/sin per position, their rows
// at a sequence's positions, and x·cos + rotate_half(x)·sin.
import type { GraphBuilder } from "../graph/builder.js";

/** Rotary tables cos/sin(cat(p·θ^(-2i/d), p·θ^(-2i/d))) for positions 0..maxLen-1, shape [maxLen, d],
 *  computed in float64 and rounded once (the oracle's default `--rope-precision f64`). */
export function rotaryTables(
  headDim: number,
  theta: number,
  maxLen: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const invFreq = Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  const cos = new Float32Array(maxLen * headDim);
  const sin = new Float32Array(maxLen * headDim);
  for (let p = 0; p < maxLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * headDim + i] = c;
      cos[p * headDim + half + i] = c;
      sin[p * headDim + i] = s;
      sin[p * headDim + half + i] = s;
    }
  }
  return { cos, sin };
}

/** Where a sequence's tokens sit: consecutive positions [start, end) (1-element int64 values), or explicit
 *  `position_ids` [B, T] (left-padded rows). */
export type RotaryPositions = { start: string; end: string } | { ids: string };

/** The tables as initializers `rope_cos` / `rope_sin` and their rows at the given positions: [T, d] for a range,
 *  [B, 1, T, d] for explicit ids (both broadcast over heads). */
export function rotaryRows(
  g: GraphBuilder,
  tables: { cos: Float32Array; sin: Float32Array },
  headDim: number,
  at: RotaryPositions,
): { cos: string; sin: string } {
  const rows = (name: string, data: Float32Array) => {
    const all = g.initializer(name, { type: "float32", dims: [data.length / headDim, headDim], data });
    if ("ids" in at)
      return g.node("Unsqueeze", [g.node("Gather", [all, at.ids], { axis: 0 }), g.int64s([1])]);
    return g.node("Slice", [all, at.start, at.end, g.int64s([0])]);
  };
  return { cos: rows("rope_cos", tables.cos), sin: rows("rope_sin", tables.sin) };
}

/** rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2]) on the last axis. */
export function rotateHalf(g: GraphBuilder, x: string, headDim: number): string {
  const half = headDim / 2;
  const lo = g.node("Slice", [x, g.int64s([0]), g.int64s([half]), g.int64s([-1])]);
  const hi = g.node("Slice", [x, g.int64s([half]), g.int64s([headDim]), g.int64s([-1])]);
  return g.node("Concat", [g.node("Neg", [hi]), lo], { axis: -1 });
}

/** RoPE: x·cos + rotate_half(x)·sin, with cos/sin rows broadcast over batch and heads. */
export function applyRotary(g: GraphBuilder, x: string, cos: string, sin: string, headDim: number): string {
  return g.node("Add", [g.node("Mul", [x, cos]), g.node("Mul", [rotateHalf(g, x, headDim), sin])]);
}
