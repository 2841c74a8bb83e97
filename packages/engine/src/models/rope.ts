// Rotary position embeddings (RoPE) in the Hugging Face half layout: tables of cos/sin per position, their rows
// at a sequence's positions, and x·cos + rotate_half(x)·sin on the rotated channels (all of them, or Phi-3's
// first partial_rotary_factor·d).
import type { GraphBuilder } from "../graph/builder.js";
import type { RopeFrequencies } from "./rope-frequencies.js";

/** Rotary tables af·cos/sin(cat(p·inv, p·inv)) for positions 0..maxLen-1, shape [maxLen, d] (d = 2·inv.length),
 *  computed in float64 and rounded once (the oracle's default `--rope-precision f64`). */
export function rotaryTables(
  freq: RopeFrequencies,
  maxLen: number,
): { cos: Float32Array; sin: Float32Array } {
  const { invFreq, attentionFactor: af } = freq;
  const half = invFreq.length;
  const headDim = 2 * half;
  const cos = new Float32Array(maxLen * headDim);
  const sin = new Float32Array(maxLen * headDim);
  for (let p = 0; p < maxLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!;
      const c = af === 1 ? Math.cos(angle) : Math.cos(angle) * af;
      const s = af === 1 ? Math.sin(angle) : Math.sin(angle) * af;
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

/** The tables as initializers `<name>_cos` / `<name>_sin` and their rows at the given positions: [T, d] for a
 *  range, [B, 1, T, d] for explicit ids (both broadcast over heads). */
export function rotaryRows(
  g: GraphBuilder,
  tables: { cos: Float32Array; sin: Float32Array },
  headDim: number,
  at: RotaryPositions,
  name = "rope",
): { cos: string; sin: string } {
  const rows = (table: string, data: Float32Array) => {
    const all = g.initializer(table, { type: "float32", dims: [data.length / headDim, headDim], data });
    if ("ids" in at)
      return g.node("Unsqueeze", [g.node("Gather", [all, at.ids], { axis: 0 }), g.int64s([1])]);
    return g.node("Slice", [all, at.start, at.end, g.int64s([0])]);
  };
  return { cos: rows(`${name}_cos`, tables.cos), sin: rows(`${name}_sin`, tables.sin) };
}

/** rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2]) on the last axis. */
export function rotateHalf(g: GraphBuilder, x: string, headDim: number): string {
  const half = headDim / 2;
  const lo = g.node("Slice", [x, g.int64s([0]), g.int64s([half]), g.int64s([-1])]);
  const hi = g.node("Slice", [x, g.int64s([half]), g.int64s([headDim]), g.int64s([-1])]);
  return g.node("Concat", [g.node("Neg", [hi]), lo], { axis: -1 });
}

/** RoPE: x·cos + rotate_half(x)·sin, with cos/sin rows [.., rotaryDim] broadcast over batch and heads. With
 *  rotaryDim < headDim (Phi-3's partial rotary) only the first rotaryDim channels rotate; the rest pass through. */
export function applyRotary(
  g: GraphBuilder,
  x: string,
  cos: string,
  sin: string,
  rotaryDim: number,
  headDim = rotaryDim,
): string {
  const rotate = (v: string) =>
    g.node("Add", [g.node("Mul", [v, cos]), g.node("Mul", [rotateHalf(g, v, rotaryDim), sin])]);
  if (rotaryDim === headDim) return rotate(x);
  const rotated = g.node("Slice", [x, g.int64s([0]), g.int64s([rotaryDim]), g.int64s([-1])]);
  const passed = g.node("Slice", [x, g.int64s([rotaryDim]), g.int64s([headDim]), g.int64s([-1])]);
  return g.node("Concat", [rotate(rotated), passed], { axis: -1 });
}
