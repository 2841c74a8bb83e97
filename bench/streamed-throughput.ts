// bench/streamed-throughput: block-streamed forward (per-token NLL) throughput as a fraction of this machine's
// float32 GEMM ceiling. The ceiling is measured in the same process, before and after the run: ONNX Runtime's MatMul of [rows·seq, hidden] ×
// [hidden, intermediate] with the weight fed as an input, as a streamed block is fed. The model FLOPs count the
// block projections, attention scores and mixing and the head on every position (../packages/engine/src/bench/flops.ts);
// the time includes reading and widening every block (shown apart), so the fraction says how well the weight reads
// are amortized over the batch.
//
//   node --conditions=development --import tsx bench/streamed-throughput.ts --model DIR [--rows 32] [--seq-len 128]
//        [--batch 8] [--threads 2]
import os from "node:os";
import { parseArgs } from "node:util";
import {
  forwardFlops,
  gemmCeiling,
  mulberry32,
  openCheckpoint,
  StreamedModel,
  streamedRowNllSums,
} from "@shortened/engine";

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    rows: { type: "string", default: "32" },
    "seq-len": { type: "string", default: "128" },
    batch: { type: "string", default: "8" },
    threads: { type: "string", default: "2" },
  },
});
if (!args.model) throw new Error("--model DIR is required");
const R = Number(args.rows);
const T = Number(args["seq-len"]);
const B = Number(args.batch);
const threads = Number(args.threads);
const ckpt = openCheckpoint(args.model);
const c = ckpt.config;

const tokens = R * T;
const M = Math.min(B * T, 4096);
// measured before and after the run: on a shared machine the load can change over a 10-minute run (a 7B run
// once saw 20 GFLOP/s at its start and a fraction of 1.18 against it), so the fraction uses their mean
const ceilingBefore = await gemmCeiling(M, c.hiddenSize, c.intermediateSize, { threads });

const model = await StreamedModel.open(ckpt, { threads, maxSeqLen: T });
// where the time goes: block reads (positioned reads + widening), block runs, head chunk reads, head runs
const spent = { blockRead: 0, blockRun: 0, headRead: 0, head: 0 };
function timed<A extends unknown[], R>(f: (...a: A) => R, part: keyof typeof spent): (...a: A) => R {
  return (...a) => {
    const t0 = performance.now();
    const r = f(...a);
    const done = () => {
      spent[part] += (performance.now() - t0) / 1000;
    };
    if (r instanceof Promise) return r.finally(done) as R;
    done();
    return r;
  };
}
model.loadBlock = timed(model.loadBlock.bind(model), "blockRead");
model.runBlock = timed(model.runBlock.bind(model), "blockRun");
model.loadHeadChunk = timed(model.loadHeadChunk.bind(model), "headRead");
model.headNll = timed(model.headNll.bind(model), "head");
const next = mulberry32(7);
const ids = Array.from({ length: tokens }, () => next() % c.vocabSize);
const t0 = performance.now();
await streamedRowNllSums(model, ids, R, T, { batchSize: B, rowsPerPass: R });
const wall = (performance.now() - t0) / 1000;
await model.release();
const ceilingAfter = await gemmCeiling(M, c.hiddenSize, c.intermediateSize, { threads });
const ceiling = (ceilingBefore + ceilingAfter) / 2;

const flops = forwardFlops(c, R, T);
const headFlops = 2 * tokens * c.hiddenSize * c.vocabSize;
const result = {
  date: new Date().toISOString(),
  model: args.model,
  layers: c.numHiddenLayers,
  hidden: c.hiddenSize,
  rows: R,
  seqLen: T,
  batch: B,
  threads,
  tokens,
  wallS: wall,
  blockReadS: spent.blockRead,
  blockRunS: spent.blockRun,
  headReadS: spent.headRead,
  /** head runs, their chunk reads excluded */
  headRunS: spent.head - spent.headRead,
  blockFractionOfCeiling: (flops - headFlops) / spent.blockRun / ceiling,
  headFractionOfCeiling: headFlops / (spent.head - spent.headRead) / ceiling,
  secondsPer1kTokens: (wall / tokens) * 1000,
  modelGflops: flops / wall / 1e9,
  gemmCeilingGflops: ceiling / 1e9,
  gemmCeilingBeforeAfterGflops: [ceilingBefore / 1e9, ceilingAfter / 1e9],
  fractionOfCeiling: flops / wall / ceiling,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  load: os.loadavg().map((x) => Number(x.toFixed(1))),
};
console.log(JSON.stringify(result));
