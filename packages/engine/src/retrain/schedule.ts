// Learning-rate multipliers of transformers' schedules, for optimizer step s (0-based) of N with W warm-up
// steps: get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup (0.5 cycles) and
// get_constant_schedule_with_warmup. With W > 0, step 0 runs at lr 0, as in the HF Trainer.
export type Schedule = "linear" | "cosine" | "constant";
export const SCHEDULES: readonly Schedule[] = ["linear", "cosine", "constant"];

export function lrMultiplier(kind: Schedule, step: number, warmup: number, total: number): number {
  if (kind === "linear") {
    if (step < warmup) return step / Math.max(1, warmup);
    return Math.max(0, (total - step) / Math.max(1, total - warmup));
  }
  if (step < warmup) return step / Math.max(1, warmup);
  if (kind === "constant") return 1;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
}
