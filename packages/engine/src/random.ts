// The seeded pseudo-random stream every drawing shares with the oracle: calibration windows, LoRA initial
// values, sampling, benchmark prompts.

/** mulberry32 as the common JavaScript one-liner; returns the next u32. */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** floor(u·m) with u = u32 / 2³², exact for every m (the oracle's (u32·m) >> 32). */
export function randbelow(next: () => number, m: number): number {
  return Number((BigInt(next()) * BigInt(m)) >> 32n);
}
