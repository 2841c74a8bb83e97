// Child process of measurePeakMemory: opens one model, runs one generation, and reports its own memory.
// Run alone so that the process's resident set belongs to that model only.
import { KvGenerator } from "../generate/generator.js";
import { generatorOptions } from "./benchmark.js";
import type { PeakMemoryChildReport, PeakMemoryProbe } from "./peak-memory.js";
import { randomPrompts } from "./prompts.js";

const args = JSON.parse(process.argv[2]!) as PeakMemoryProbe;
const mb = (bytes: number) => bytes / 2 ** 20;
// Sampled, not getrusage's maxrss: Linux keeps ru_maxrss across fork + exec, so a child would report its
// parent's resident set whenever that was larger.
let peakRss = 0;
const sample = () => {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  return rss;
};
const sampler = setInterval(sample, 2);
const startRss = sample();
const gen = await KvGenerator.open(
  args.model,
  generatorOptions({ ...args, batchSizes: [args.planBatch ?? args.batch] }),
);
sample();
// Free the graph-building copies before measuring what generation itself holds (run with --expose-gc).
(globalThis as { gc?: () => void }).gc?.();
const openRss = sample();
let generationRss = openRss;
await gen.generate(randomPrompts(gen.config.vocabSize, args.batch, args.inputLen, 1), {
  doSample: false,
  maxNewTokens: args.outputLen,
  ignoreEos: true,
  onToken: () => {
    generationRss = Math.max(generationRss, sample());
  },
});
await gen.release();
clearInterval(sampler);
const report: PeakMemoryChildReport = {
  startRssMb: mb(startRss),
  afterOpenRssMb: mb(openRss),
  generationRssMb: mb(generationRss),
  peakRssMb: mb(peakRss),
  plan: gen.plan.summary,
};
process.stdout.write(JSON.stringify(report));
