// Peak memory of one model generating at one batch size, measured in a child process (a fresh ONNX Runtime
// session and nothing else) so that models measured one after another do not see each other's memory.
// On CPU this is the resident set. `peakMb` is the largest resident set sampled (every 2 ms and at each step),
// which includes the transient copies made while the graph is built and loaded; `generationMb` is the largest resident set seen while generating (after
// a garbage collection): weights held by the session, the KV cache and activations, plus the runtime itself,
// which `baselineMb` (the child's resident set before the model was opened) reports.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ComputeDtype } from "../models/precision.js";
import type { AccuracyLevel } from "../quantize/matmul-nbits.js";

export interface PeakMemory {
  /** largest sampled resident set of the child process, MiB (includes graph-building transients) */
  peakMb: number;
  /** largest resident set sampled during generation, after the build copies were collected, MiB */
  generationMb: number;
  /** resident set before the model was opened (Node + ONNX Runtime), MiB */
  baselineMb: number;
  /** resident set right after the session was created (weights loaded), MiB */
  afterOpenMb: number;
  /** the plan the child ran (its dtype and mode: the probe's settings reached it) */
  plan: string;
}

/** What the child process measures: one model generating outputLen tokens for batch prompts of inputLen. */
export interface PeakMemoryProbe {
  model: string;
  batch: number;
  inputLen: number;
  outputLen: number;
  device?: "cpu" | "cuda";
  threads?: number;
  dtype?: ComputeDtype;
  memoryBudget?: string | number;
  execution?: "whole" | "streamed";
  accuracyLevel?: AccuracyLevel;
  /** the batch the plan is made for (the benchmark's largest; default batch), so the probe runs as it did */
  planBatch?: number;
}

/** What the child process (./peak-memory-child.ts) prints, MiB. */
export interface PeakMemoryChildReport {
  startRssMb: number;
  afterOpenRssMb: number;
  generationRssMb: number;
  peakRssMb: number;
  plan: string;
}

/** The flags that make this process run TypeScript sources (tsx) or pick export conditions; not test flags. */
function loaderArgs(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith("--conditions") || a[i]!.startsWith("-C=")) out.push(a[i]!);
    else if ((a[i] === "--import" || a[i] === "--loader" || a[i] === "--require") && i + 1 < a.length)
      out.push(a[i]!, a[++i]!);
  }
  return out;
}

export function measurePeakMemory(args: PeakMemoryProbe): PeakMemory {
  const child = fileURLToPath(new URL("./peak-memory-child.js", import.meta.url));
  const r = spawnSync(process.execPath, ["--expose-gc", ...loaderArgs(), child, JSON.stringify(args)], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    // glibc: a fixed mmap threshold returns freed large buffers to the system, so the resident set after the
    // build copies are collected shows what the session holds (a dynamic threshold keeps them in the heap).
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_TRIM_THRESHOLD_: "131072" },
  });
  if (r.status !== 0) {
    const lines = r.stderr.trim().split("\n");
    const reason = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.slice(-3).join(" ");
    throw new Error(`peak-memory probe failed: ${reason}`);
  }
  const m = JSON.parse(r.stdout) as PeakMemoryChildReport;
  return {
    peakMb: m.peakRssMb,
    generationMb: m.generationRssMb,
    baselineMb: m.startRssMb,
    afterOpenMb: m.afterOpenRssMb,
    plan: m.plan,
  };
}
