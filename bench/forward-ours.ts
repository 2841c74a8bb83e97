// Tokens/s of our perplexity forward (forward + fused per-token NLL, one batch of B×T random ids, median of
// `iters` runs after `warmup`). Imported by bench/forward.ts; run alone (`--model DIR`, prints JSON) by
// bench/forward-compare.sh, which copies this file into an earlier tree: it uses only the engine API that tree has.
//
//   node --conditions=development --import tsx bench/forward-ours.ts --model DIR [--batch 4] [--seq-len 128]
//        [--iters 10] [--warmup 2] [--threads 2]
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ForwardSession, mulberry32, shiftedTargets } from "@shortened/engine";

export interface ForwardShape {
  batch: number;
  seqLen: number;
  iters: number;
  warmup: number;
  threads: number;
}

export interface OursResult {
  tokensPerS: number;
  medianS: number;
  minS: number;
  maxS: number;
  params: number;
}

export async function timeOurs(model: string, o: ForwardShape): Promise<OursResult> {
  const { batch: B, seqLen: T } = o;
  const s = await ForwardSession.open(model, { threads: o.threads, maxSeqLen: T });
  try {
    const next = mulberry32(0);
    const ids = Array.from({ length: B * T }, () => next() % s.config.vocabSize);
    const targets = shiftedTargets(ids, B, T);
    const times: number[] = [];
    for (let i = 0; i < o.warmup + o.iters; i++) {
      const t0 = performance.now();
      await s.run({ batch: B, seqLen: T, ids, targets }, { nll: true });
      if (i >= o.warmup) times.push((performance.now() - t0) / 1000);
    }
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    return {
      tokensPerS: (B * T) / median,
      medianS: median,
      minS: Math.min(...times),
      maxS: Math.max(...times),
      params: s.checkpoint.parameterCount(),
    };
  } finally {
    await s.release();
  }
}

/** The command-line options of the shape, shared with bench/forward.ts. */
export const SHAPE_OPTIONS = {
  batch: { type: "string", default: "4" },
  "seq-len": { type: "string", default: "128" },
  iters: { type: "string", default: "10" },
  warmup: { type: "string", default: "2" },
  threads: { type: "string", default: "2" },
} as const;

export function shapeFrom(a: { [K in keyof typeof SHAPE_OPTIONS]: string }): ForwardShape {
  const [batch, seqLen, iters, warmup, threads] = [a.batch, a["seq-len"], a.iters, a.warmup, a.threads].map(
    Number,
  );
  return { batch: batch!, seqLen: seqLen!, iters: iters!, warmup: warmup!, threads: threads! };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: a } = parseArgs({ options: { model: { type: "string" }, ...SHAPE_OPTIONS } });
  if (!a.model) throw new Error("--model DIR is required");
  const shape = shapeFrom(a);
  console.log(JSON.stringify({ model: a.model, ...shape, ours: await timeOurs(a.model, shape) }));
}
