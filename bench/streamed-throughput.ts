// bench/streamed-throughput: block-streamed forward (per-token NLL) throughput as a fraction of this machine's
// float32 GEMM ceiling. The ceiling is measured in the same process: ONNX Runtime's MatMul of [rows·seq, hidden] ×
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
const ceiling = await gemmCeiling(M, c.hiddenSize, c.intermediateSize, { threads });

const model = await StreamedModel.open(ckpt, { threads, maxSeqLen: T });
let readS = 0;
const load = model.loadBlock.bind(model);
model.loadBlock = (i: number) => {
  const t0 = performance.now();
  load(i);
  readS += (performance.now() - t0) / 1000;
};
const next = mulberry32(7);
const ids = Array.from({ length: tokens }, () => next() % c.vocabSize);
const t0 = performance.now();
await streamedRowNllSums(model, ids, R, T, { batchSize: B, rowsPerPass: R });
const wall = (performance.now() - t0) / 1000;
await model.release();

const flops = forwardFlops(c, R, T);
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
  blockReadS: readS,
  secondsPer1kTokens: (wall / tokens) * 1000,
  modelGflops: flops / wall / 1e9,
  gemmCeilingGflops: ceiling / 1e9,
  fractionOfCeiling: flops / wall / ceiling,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  load: os.loadavg().map((x) => Number(x.toFixed(1))),
};
console.log(JSON.stringify(result));
