// glibc's malloc keeps freed heap memory for reuse: with its default (dynamic) thresholds, buffers up to 32 MB
// freed by ONNX Runtime (e.g. the float32 widenings of its CPU float16 MatMul, one per call) stay resident, so a
// run's resident set grows from step to step. A training run under a memory budget gets fixed thresholds instead: blocks
// from 128 KiB up are mapped and unmapped on their own, and free heap above 128 KiB is trimmed. Measured on the
// 1.1B model's LoRA (README "retrain and merge"). glibc reads these variables only when a process starts, so the
// bin sets them for the process it starts.

const THRESHOLD = "131072";

/** The variables to add for a run with these arguments and environment: only for training (`retrain …`, whose
 *  steps free and reallocate the widenings again and again) under a memory budget (`--memory-budget` or
 *  SHORTENED_MEMORY_BUDGET), and not when the caller set either variable itself. Forward commands keep glibc's
 *  defaults: with the fixed thresholds the 100M float32 forward ran at 0.84 of its speed. */
export function budgetedMallocEnv(argv, env) {
  const budgeted =
    argv.some((a) => a === "--memory-budget" || a.startsWith("--memory-budget=")) ||
    Boolean(env.SHORTENED_MEMORY_BUDGET);
  const training = argv[0] === "retrain";
  if (
    !budgeted ||
    !training ||
    env.MALLOC_MMAP_THRESHOLD_ !== undefined ||
    env.MALLOC_TRIM_THRESHOLD_ !== undefined
  )
    return {};
  return { MALLOC_MMAP_THRESHOLD_: THRESHOLD, MALLOC_TRIM_THRESHOLD_: THRESHOLD };
}
