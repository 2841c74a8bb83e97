// What a session is for decides how ONNX Runtime allocates its memory; this file is the one place that says so: a
// call site names its purpose (SessionOptions.purpose) instead of setting allocator flags of its own.
//
// ONNX Runtime's CPU arena keeps each run's peak, rounded up to a power of two, for the session's life, and grows
// again when a later run fragments it; without it, glibc's heap serves the run and keeps what it frees in its own
// way. Which one holds less depends on the session, so each choice below was measured (peak RSS of the CLI, A/B
// in alternating fresh processes; README "Peak memory under a budget").

export type SessionPurpose =
  /** a whole model's forward (eval ppl, the importance criteria, bench): without the arena, 0.08 GiB less on the
   *  100M model after three batches, no slower */
  | "whole-model-forward"
  /** zero-shot's whole model with a padded KV cache (eval/zeroshot/shared-context.ts): with the arena, since
   *  without it glibc's heap held more (100M, arc_easy + winogrande: 1.45 GB with, 1.70 without) */
  | "zero-shot"
  /** generation's whole model with the KV cache: with the arena (the same peak without it, so nothing to gain) */
  | "generation"
  /** a block or a head chunk of a block-streamed model, weights fed as inputs (execution/streamed-model.ts): with
   *  the arena. Without it the peak was 0–0.12 GB lower (1.1B eval ppl under 2.5G: 0.52 → 0.47 GB), far under
   *  the budgets that choose streaming, but the streamed eval ppl took 5% more CPU time (its larger buffers mapped
   *  afresh every run) */
  | "streamed-forward"
  /** training steps: the peak is the gradients and the activations kept for them; no memory pattern either
   *  (usesMemPattern) */
  | "training"
  /** streamed Taylor+'s block backward: float16 products widen their operands to float32 on CPU, and the arena
   *  would keep those widenings, rounded up, for the whole run (1.38 → 1.00 GB without it) */
  | "streamed-backward"
  /** GPTQ's large one-off float64 products (trailing updates, the blocked Cholesky factor): their few large
   *  blocks would stay reserved for the whole quantization */
  | "quantize-step";

/** Whether a session for this purpose uses ONNX Runtime's CPU arena. */
export function usesCpuArena(purpose: SessionPurpose): boolean {
  switch (purpose) {
    case "zero-shot":
    case "generation":
    case "streamed-forward":
      return true;
    case "whole-model-forward":
    case "training":
    case "streamed-backward":
    case "quantize-step":
      return false;
  }
}

/** Whether a session for this purpose plans a memory pattern: one block for every intermediate value of a run,
 *  laid out from the first run. Without the arena that block is mapped and unmapped on every run, so each of its
 *  pages faults again; a training session, run step after step, allocates value by value instead, from heap
 *  memory glibc reuses (100M CPT: 160–180k minor faults a step → 43k, 0.3–0.5 s less CPU under load, peak
 *  3.06 → 3.00 GB). The other purposes were not measured without it and keep ONNX Runtime's default. */
export function usesMemPattern(purpose: SessionPurpose): boolean {
  return purpose !== "training";
}
