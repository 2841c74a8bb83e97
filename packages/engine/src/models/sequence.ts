// What every block of a forward graph shares about the sequence it reads: where its new tokens sit (after the P
// positions of a KV cache, or at explicit position ids), their RoPE rows, and each layer's attention mask. Built
// once, before the blocks, so that blocks wrapped in `If` branches can all read them. RoPE scaling that depends
// on the sequence length T = P + (new tokens) (dynamic beyond max_position_embeddings, longrope's short/long
// switch) is computed in the graph from T, so one graph serves every length as a fresh transformers model would.
import type { GraphBuilder } from "../graph/builder.js";
import type { Architecture } from "./architecture.js";
import { attentionMask } from "./attention.js";
import { applyRotary, type RotaryPositions, rotaryRows, rotaryTables } from "./rope.js";
import { longropeLengths, type RopeSpec, ropeFrequencies } from "./rope-frequencies.js";

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

  const at: RotaryPositions = opts.positionIds ? { ids: opts.positionIds } : { start: past1d, end: total1d };
  const kinds = new Set(opts.layers.map((i) => arch.attention[i]!.rope));
  const rows = new Map<string, { cos: string; sin: string }>();
  for (const kind of kinds) {
    const spec = kind === "local" ? arch.rope.local! : arch.rope.global;
    const name = kind === "local" ? "rope_local" : "rope";
    rows.set(kind, scaledRotaryRows(g, spec, at, positions, opts.maxSeqLen, name));
  }

  const rep = arch.numHeads / arch.numKvHeads;
  const byWindow = new Map<number | null, string>();
  for (const i of opts.layers) {
    const w = arch.attention[i]!.slidingWindow;
    if (!byWindow.has(w)) byWindow.set(w, attentionMask(g, positions, w, rep, opts.keyValid));
  }
  return {
    rope: (x, i) => {
      const { cos, sin } = rows.get(arch.attention[i]!.rope)!;
      return applyRotary(g, x, cos, sin, arch.rotaryDim, arch.headDim);
    },
    mask: (i) => byWindow.get(arch.attention[i]!.slidingWindow)!,
  };
}

/** The rows of a rotary embedding at the sequence's positions. Scaling that depends on the length T (dynamic,
 *  longrope) is computed in the graph from T; the others are host tables of maxSeqLen rows. */
function scaledRotaryRows(
  g: GraphBuilder,
  spec: RopeSpec,
  at: RotaryPositions,
  pos: { past: string; total: string },
  maxSeqLen: number,
  name: string,
): { cos: string; sin: string } {
  const s = spec.scaling;
  if (s.type !== "dynamic" && s.type !== "longrope")
    return rotaryRows(g, rotaryTables(ropeFrequencies(spec, maxSeqLen), maxSeqLen), spec.dim, at, name);
  const d = spec.dim;
  const f64 = (v: number) => g.constant("float64", [], [v]);
  const T = g.node("Cast", [pos.total], { to: DOUBLE });
  let inv: string;
  let attentionFactor = 1;
  if (s.type === "dynamic") {
    // θ' = θ·((factor·max(T, M)/M) − (factor−1))^(d/(d−2)); θ' = θ for T ≤ M
    const M = spec.maxPositions;
    const grown = g.node("Sub", [
      g.node("Div", [g.node("Mul", [f64(s.factor), g.node("Max", [T, f64(M)])]), f64(M)]),
      f64(s.factor - 1),
    ]);
    const base = g.node("Mul", [f64(spec.theta), g.node("Pow", [grown, f64(d / (d - 2))])]);
    const expo = g.constant(
      "float64",
      [d / 2],
      Array.from({ length: d / 2 }, (_, k) => (2 * k) / d),
    );
    inv = g.node("Div", [f64(1), g.node("Pow", [base, expo])]);
  } else {
    // the long factors once T passes the original length, the short ones before
    const { switchAt } = longropeLengths(spec);
    const short = ropeFrequencies(spec, switchAt);
    const long = ropeFrequencies(spec, switchAt + 1);
    attentionFactor = short.attentionFactor;
    inv = g.node("Where", [
      g.node("Greater", [T, f64(switchAt)]),
      g.constant("float64", [d / 2], [...long.invFreq]),
      g.constant("float64", [d / 2], [...short.invFreq]),
    ]);
  }
  return rotaryRowsOf(g, inv, attentionFactor, at, pos);
}

const DOUBLE = 11;
const FLOAT = 1;

/** af·cos/sin(p·inv) at the positions, in float64 in the graph and rounded once (as the host tables are). */
function rotaryRowsOf(
  g: GraphBuilder,
  inv: string,
  attentionFactor: number,
  at: RotaryPositions,
  pos: { past: string; total: string },
): { cos: string; sin: string } {
  const positions =
    "ids" in at
      ? g.node("Unsqueeze", [g.node("Cast", [at.ids], { to: DOUBLE }), g.int64s([-1])]) // [B, T, 1]
      : g.node("Unsqueeze", [
          g.node("Cast", [g.node("Range", [pos.past, pos.total, g.constant("int64", [], [1n])])], {
            to: DOUBLE,
          }),
          g.int64s([1]),
        ]); // [T, 1]
  const freqs = g.node("Mul", [positions, inv]);
  const angles = g.node("Concat", [freqs, freqs], { axis: -1 });
  const rows = (op: "Cos" | "Sin") => {
    let v = g.node(op, [angles]);
    if (attentionFactor !== 1) v = g.node("Mul", [v, g.constant("float64", [], [attentionFactor])]);
    v = g.node("Cast", [v], { to: FLOAT });
    return "ids" in at ? g.node("Unsqueeze", [v, g.int64s([1])]) : v; // [B, 1, T, d] as rotaryRows
  };
  return { cos: rows("Cos"), sin: rows("Sin") };
}
