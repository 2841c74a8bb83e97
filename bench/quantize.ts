// bench/quantize: GPTQ of a (large, e.g. generated 1.1B TinyLlama-shaped) checkpoint, block by block, printing
// per block its seconds, its parts (forwards with the XᵀX products, factors of H⁻¹, column loops and trailing
// updates) and the peak RSS so far (VmHWM); `--blocks K` stops after K blocks and projects the whole model.
// Calibration: seeded random token ids (the checkpoint's weights are random too); the paper's recipe otherwise
// (4 bits, group 128, act-order, sym, damp 0.01, true-sequential).
//
//   /work/team/heavy.sh node --conditions=development --import tsx bench/quantize.ts --model DIR \
//     [--n 8] [--seq-len 512] [--batch-size 4] [--blocks K] [--memory-budget 4G]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openCheckpoint, type QuantizeModelResult, quantizeModel } from "@shortened/engine";

const { values: a } = parseArgs({
  options: {
    model: { type: "string" },
    n: { type: "string", default: "8" },
    "seq-len": { type: "string", default: "512" },
    "batch-size": { type: "string", default: "4" },
    blocks: { type: "string" },
    "memory-budget": { type: "string" },
    dir: { type: "string", default: os.tmpdir() },
  },
});
const ckpt = openCheckpoint(a.model!);
const c = ckpt.config;
const N = Number(a.n);
const T = Number(a["seq-len"]);
const stopAfter = a.blocks ? Number(a.blocks) : c.numHiddenLayers;
let s = 1234;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s;
};
const rows = Array.from({ length: N }, () => Array.from({ length: T }, () => rand() % c.vocabSize));
const peakMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const out = mkdtempSync(join(a.dir!, "bench-quantize-"));
const abort = new AbortController();
const started = performance.now();
let blockStart = started;
const perBlock: number[] = [];
const parts = { forward: 0, factor: 0, rest: 0 };
console.log(
  `${a.model}: ${c.numHiddenLayers} blocks, hidden ${c.hiddenSize}, MLP ${c.intermediateSize}; calibration ${N} × ${T}, batch ${a["batch-size"]}; load ${os.loadavg()[0]!.toFixed(1)}`,
);
let result: QuantizeModelResult | undefined;
try {
  result = await quantizeModel({
    model: ckpt,
    out,
    rows,
    settings: {
      method: "gptq",
      bits: 4,
      groupSize: 128,
      actOrder: true,
      staticGroups: false,
      sym: true,
      damp: 0.01,
      blockSize: 128,
      fp16Scales: false,
      dampRetries: 10,
      dampStep: 0.0015,
      trueSequential: true,
      checkpointFormat: "gptq",
    },
    batchSize: Number(a["batch-size"]),
    memoryBudget: a["memory-budget"],
    onPlan: (p) => console.log(`plan: ${p.summary}`),
    signal: abort.signal,
    onProgress: (p) => {
      if (p.layer) {
        parts.forward += p.layer.forwardSeconds;
        parts.factor += p.layer.factorSeconds;
        parts.rest += p.layer.seconds - p.layer.forwardSeconds - p.layer.factorSeconds;
        return;
      }
      const now = performance.now();
      perBlock.push((now - blockStart) / 1000);
      blockStart = now;
      console.log(
        `block ${p.block}/${p.blocks}: ${perBlock.at(-1)!.toFixed(1)} s (forwards+XᵀX ${parts.forward.toFixed(1)}, factors ${parts.factor.toFixed(1)}, column loops+updates ${parts.rest.toFixed(1)}); peak RSS ${peakMb().toFixed(0)} MB; load ${os.loadavg()[0]!.toFixed(1)}`,
      );
      parts.forward = parts.factor = parts.rest = 0;
      if (p.block >= stopAfter) abort.abort();
    },
  });
} catch (e) {
  if (!abort.signal.aborted) throw e;
} finally {
  rmSync(out, { recursive: true, force: true });
}
const mean = perBlock.reduce((x, y) => x + y, 0) / perBlock.length;
console.log(
  result
    ? `all ${c.numHiddenLayers} blocks in ${result.seconds.toFixed(0)} s; peak RSS ${peakMb().toFixed(0)} MB`
    : `stopped after ${perBlock.length} blocks (${((performance.now() - started) / 1000).toFixed(0)} s); mean ${mean.toFixed(1)} s per block → ${((mean * c.numHiddenLayers) / 60).toFixed(1)} min for ${c.numHiddenLayers} blocks; peak RSS ${peakMb().toFixed(0)} MB`,
);
