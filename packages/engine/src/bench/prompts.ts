// Benchmark prompts: seeded random token ids, one distinct row per batch element, all of the same length.
import { uniformStream } from "../generate/sampling.js";

export function randomPrompts(vocab: number, batch: number, length: number, seed: number): number[][] {
  const u = uniformStream(seed);
  return Array.from({ length: batch }, () => Array.from({ length }, () => Math.floor(u() * vocab)));
}
