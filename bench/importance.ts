// bench/importance: time of the ppl criterion (blockImportance: the prefix before block i is computed once per
// calibration batch and block i's input is handed to a graph that resumes after it) beside a naive loop that
// runs the full gated model once per candidate (plus the base run). Goal: at least 1.7× less time for 12+ blocks.
// Both must give the same scores (checked).
//
//   node --conditions=development --import tsx bench/importance.ts [--model ../shared/models/tinystories-llama-12L]
//        [--n 10] [--seq-len 128] [--batch-size 10] [--threads 2] [--repeats 3]
import { writeFileSync } from "node:fs";
import os from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { blockImportance, ForwardSession, mulberry32 } from "@shortened/engine";
import { Checkpoint } from "@shortened/hf";

const repoRoot = new URL("..", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: join(repoRoot, "../shared/models/tinystories-llama-12L") },
    n: { type: "string", default: "10" },
    "seq-len": { type: "string", default: "128" },
    "batch-size": { type: "string", default: "10" },
    threads: { type: "string", default: "2" },
    repeats: { type: "string", default: "3" },
  },
});
const N = Number(args.n);
const T = Number(args["seq-len"]);
const batchSize = Number(args["batch-size"]);
const threads = Number(args.threads);
const ckpt = Checkpoint.open(args.model!);
const L = ckpt.config.numHiddenLayers;
const next = mulberry32(1234);
const calibIds = Array.from({ length: N }, () =>
  Array.from({ length: T }, () => next() % ckpt.config.vocabSize),
);

/** The naive criterion: for each candidate, the whole gated model over every calibration batch. */
async function naive(): Promise<number[]> {
  const s = await ForwardSession.open(ckpt, { threads, maxSeqLen: T });
  try {
    const flat = calibIds.flat();
    const scores: number[] = [];
    for (let b = -1; b < L; b++) {
      const gates = new Float32Array(L).fill(1);
      if (b >= 0) gates[b] = 0;
      const sums = await s.rowNllSums(flat, N, T, { batchSize, gates });
      const mean = sums.reduce((a, x) => a + x, 0) / (N * (T - 1));
      if (b >= 0) scores.push(Math.exp(mean));
    }
    return scores;
  } finally {
    await s.release();
  }
}

async function timed<T>(f: () => Promise<T>): Promise<{ s: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { s: (performance.now() - t0) / 1000, value };
}

const oursTimes: number[] = [];
const naiveTimes: number[] = [];
let oursScores: number[] = [];
let naiveScores: number[] = [];
for (let r = 0; r < Number(args.repeats); r++) {
  const a = await timed(() =>
    blockImportance({ model: ckpt, criterion: "ppl", calibIds, batchSize, threads }),
  );
  const b = await timed(naive);
  oursTimes.push(a.s);
  naiveTimes.push(b.s);
  oursScores = a.value.scores;
  naiveScores = b.value;
}
const maxRel = Math.max(...oursScores.map((s, i) => Math.abs(s - naiveScores[i]!) / naiveScores[i]!));
if (maxRel > 1e-4) throw new Error(`scores differ: max relative ${maxRel}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const result = {
  date: new Date().toISOString(),
  model: args.model,
  blocks: L,
  calibration: { rows: N, seqLen: T, batchSize },
  threads,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  oursSeconds: oursTimes,
  naiveSeconds: naiveTimes,
  speedup: median(naiveTimes) / median(oursTimes),
  maxRelativeScoreDifference: maxRel,
};
writeFileSync(
  join(repoRoot, `bench/results/importance-${basename(args.model!)}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.error(
  `ppl criterion on ${L} blocks: ours ${median(oursTimes).toFixed(2)} s, naive ${median(naiveTimes).toFixed(2)} s: ×${result.speedup.toFixed(2)} less time`,
);
console.log(JSON.stringify(result));
