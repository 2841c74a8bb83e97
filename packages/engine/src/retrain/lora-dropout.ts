// LoRA dropout with PEFT's semantics: y = W x + (alpha/r)·B(A(dropout(x))), the dropout on the adapter's input
// only (the frozen path sees x). Each target module draws its own keep mask per micro-batch, Bernoulli(1 − p)
// per element of x, and the kept elements are scaled by 1/(1 − p) (inverted dropout, as torch's nn.Dropout).
// The masks are a pure function of (seed, step, micro-batch, module), so a resumed run draws the same ones;
// they enter the graph as boolean inputs (one byte per element) and the scaling happens in the graph.
import type { GraphBuilder } from "../graph/builder.js";
import { ort } from "../graph/session.js";
import { mulberry32 } from "../random.js";

/** The graph input of a module's mask. */
export const dropoutInput = (prefix: string) => `dropout_keep:${prefix}`;

/** A stream seed for one mask: the run's seed mixed with the step, micro-batch and module (FNV-1a over u32s). */
export function dropoutStreamSeed(seed: number, step: number, micro: number, module: number): number {
  let h = 0x811c9dc5;
  for (const v of [seed, step, micro, module]) {
    for (let b = 0; b < 4; b++) {
      h ^= (v >>> (8 * b)) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h;
}

/** The keep mask (1 = kept) of `size` elements: element i is kept when its u32 ≥ p·2³². */
export function dropoutKeepMask(
  p: number,
  size: number,
  seed: number,
  step: number,
  micro: number,
  module: number,
): Uint8Array {
  const next = mulberry32(dropoutStreamSeed(seed, step, micro, module));
  const threshold = p * 2 ** 32;
  const keep = new Uint8Array(size);
  for (let i = 0; i < size; i++) keep[i] = next() >= threshold ? 1 : 0;
  return keep;
}

/** x ⊙ keep / (1 − p): the adapter's input; `keep` is a bool [batch, seq, in] graph input. */
export function droppedInput(g: GraphBuilder, x: string, keep: string, p: number): string {
  const scaled = g.node("Mul", [g.node("Cast", [keep], { to: 1 }), g.scalar(1 / (1 - p))]);
  return g.node("Mul", [x, scaled]);
}

/** The feeds of one micro-batch: one mask per module (in the adapter's module order). */
export function dropoutFeeds(
  p: number,
  seed: number,
  modules: { prefix: string; in: number }[],
  step: number,
  micro: number,
  dims: { batch: number; seqLen: number },
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  modules.forEach((m, k) => {
    const size = dims.batch * dims.seqLen * m.in;
    feeds[dropoutInput(m.prefix)] = new ort.Tensor("bool", dropoutKeepMask(p, size, seed, step, micro, k), [
      dims.batch,
      dims.seqLen,
      m.in,
    ]);
  });
  return feeds;
}
