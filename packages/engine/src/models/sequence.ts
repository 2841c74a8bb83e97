// What every block of a forward graph shares about the sequence it reads: where its new tokens sit (after the P
// positions of a KV cache, or at explicit position ids), their RoPE rows, and each layer's attention mask. Built
// once, before the blocks, so that blocks wrapped in `If` branches can all read them.
import type { GraphBuilder } from "../graph/builder.js";
import type { Architecture } from "./architecture.js";
import { attentionMask } from "./attention.js";
import { applyRotary, rotaryRows, rotaryTables } from "./rope.js";

export interface Sequence {
  /** RoPE at the new tokens' positions, for layer i's queries or keys */
  rope(x: string, layer: number): string;
  /** layer i's additive attention mask */
  mask(layer: number): string;
}

export function sequenceOf(
  g: GraphBuilder,
  arch: Architecture,
  opts: {
    /** any value [B, T, ...] of the new tokens */
    tokens: string;
    /** a past keys input [B, kvHeads, P, d] of the KV cache, if the graph has one */
    pastKey?: string;
    /** explicit positions [B, T] and key validity [B, P+T] (left-padded rows) */
    positionIds?: string;
    keyValid?: string;
    /** size of the rotary tables */
    maxSeqLen: number;
    /** the layers whose masks the graph needs */
    layers: number[];
  },
): Sequence {
  const new1d = g.node("Shape", [opts.tokens], { start: 1, end: 2 });
  const past1d = opts.pastKey ? g.node("Shape", [opts.pastKey], { start: 2, end: 3 }) : g.int64s([0]);
  const total1d = opts.pastKey ? g.node("Add", [past1d, new1d]) : new1d;
  const scalar = (v: string) => g.node("Squeeze", [v, g.int64s([0])]);
  // Without a cache, P is the constant 0: static shape inference (../autodiff/shapes.ts) then knows that the
  // mask and RoPE rows span the sequence, and the backward graph needs no runtime broadcast reductions.
  const past = opts.pastKey ? scalar(past1d) : g.constant("int64", [], [0n]);
  const positions = { past, total: scalar(total1d) };

  const tables = rotaryTables(arch.headDim, arch.ropeTheta, opts.maxSeqLen);
  const at = opts.positionIds ? { ids: opts.positionIds } : { start: past1d, end: total1d };
  const { cos, sin } = rotaryRows(g, tables, arch.headDim, at);

  const rep = arch.numHeads / arch.numKvHeads;
  const byWindow = new Map<number | null, string>();
  for (const i of opts.layers) {
    const w = arch.attention[i]!.slidingWindow;
    if (!byWindow.has(w)) byWindow.set(w, attentionMask(g, positions, w, rep, opts.keyValid));
  }
  return {
    rope: (x) => applyRotary(g, x, cos, sin, arch.headDim),
    mask: (i) => byWindow.get(arch.attention[i]!.slidingWindow)!,
  };
}
