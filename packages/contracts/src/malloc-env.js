// glibc's malloc keeps freed heap memory for reuse: with its default (dynamic) thresholds, buffers up to 32 MB
// freed by ONNX Runtime (e.g. the float32 widenings of its CPU float16 MatMul, one per call) stay resident, so a
// training run's resident set grows from step to step. A training run under a memory budget gets fixed thresholds
// instead: blocks from 128 KiB up are mapped and unmapped on their own, and free heap above 128 KiB is trimmed
// (1.1B LoRA under 4G: 4.06 → 3.19 GB; README "retrain and merge"). glibc reads these variables only when a
// process starts, so whoever starts the run's process sets them: the CLI's bin (apps/cli/bin/shortened.js) and the
// worker, which runs such a job in a job process of its own (apps/worker/src/worker.ts).
//
// Plain JavaScript, outside the build: the bin imports it before anything is compiled.

const THRESHOLD = "131072";

/**
 * The variables to add to the environment of a process that runs this: only training (it frees and reallocates
 * the widenings step after step) under a memory budget (the run's own, or SHORTENED_MEMORY_BUDGET in `env`), and
 * not when `env` sets either variable already (the caller's choice wins). Forward runs keep glibc's defaults: with
 * the fixed thresholds the 100M float32 forward ran at 0.84 of its speed.
 *
 * @param {{ training: boolean; memoryBudget?: string | boolean }} run
 * @param {Record<string, string | undefined>} env the environment the process would otherwise get
 * @returns {Record<string, string>}
 */
export function budgetedMallocEnv(run, env) {
  const budgeted = Boolean(run.memoryBudget) || Boolean(env.SHORTENED_MEMORY_BUDGET);
  if (
    !run.training ||
    !budgeted ||
    env.MALLOC_MMAP_THRESHOLD_ !== undefined ||
    env.MALLOC_TRIM_THRESHOLD_ !== undefined
  )
    return {};
  return { MALLOC_MMAP_THRESHOLD_: THRESHOLD, MALLOC_TRIM_THRESHOLD_: THRESHOLD };
}
