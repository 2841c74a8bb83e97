// The peak memory of a training run, estimated before anything is loaded, against the memory budget
// (execution/budget.ts): a run that would not fit is refused with what would fit instead.
//   CPT:  20 bytes per parameter (float32 parameters, two AdamW moments and the gradient sum ONNX Runtime writes
//         into: 16; a second gradient set with accumulation, or the runtime's temporaries of the backward pass:
//         measured 19.6 at the peak) + the activations every block keeps for its backward pass.
//   LoRA: the frozen base (float32, or its matrices in float16 with `dtype`) as a whole-model session holds it (execution/estimate.ts) + 20 bytes per
//         adapter parameter + the same activations; a float16 base adds the float32 widenings of ONNX Runtime's
//         float16 MatMul (one head chunk's, ../models/head-chunks.ts; execution/estimate.ts halfWideningBytes).
// Calibrated on the 100M generated LLaMA (batch 4 × 128): CPT measured 3.01 GiB peak RSS, estimated 2.84 GiB
// before the 15% margin below.
import { UserError } from "@shortened/contracts";
import type { ModelConfig } from "@shortened/hf";
import { type MemoryBudget, resolveMemoryBudget } from "../execution/budget.js";
import {
  float32WeightBytes,
  halfWideningBytes,
  RUNTIME_BASELINE_BYTES,
  WHOLE_WEIGHT_COPIES,
  weightBytes,
} from "../execution/estimate.js";
import { formatMemorySize } from "../execution/memory-size.js";
import { architectureOf } from "../models/architecture.js";
import { defaultHeadChunkRows } from "../models/head-chunks.js";
import type { ComputeDtype } from "../models/precision.js";

/** Bytes per trained parameter: parameter, m, v, gradient sum, and a gradient set or backward temporaries. */
export const TRAINED_BYTES_PER_PARAM = 20;
const MARGIN = 1.15;
const F32 = 4;

export interface TrainingWorkload {
  kind: "cpt" | "lora" | "partial";
  /** rows per micro-batch and tokens per row */
  batch: number;
  seqLen: number;
  /** LoRA: adapter parameters */
  adapterParams?: number;
  /** LoRA: the frozen base's compute dtype (default float32): its weight matrices in 2 bytes when half */
  dtype?: ComputeDtype;
  /** partial fine-tuning: the trained parameters (the rest is frozen, held as LoRA's base is) */
  trainedParams?: number;
  /** distillation: the teacher, run forward (no gradients) on every micro-batch beside the student */
  teacher?: { config: ModelConfig; topK: number | null };
}

export interface TrainingEstimate {
  total: number;
  /** frozen weights (LoRA; and a distillation teacher's) */
  frozen: number;
  /** distillation: the teacher's weights and forward (included in frozen and activations) */
  teacher?: number;
  /** trained tensors with their optimizer state and gradients */
  trained: number;
  activations: number;
  /** LoRA with a half base: the float32 widenings of ONNX Runtime's CPU float16 MatMul (one head chunk's) */
  widening: number;
  runtime: number;
}

export interface TrainingPlan {
  budget: MemoryBudget;
  estimate: TrainingEstimate;
  summary: string;
}

/** Every block's saved intermediates (projections, attention probabilities, MLP) and the head's logits with
 *  their log-softmax and gradient, for one micro-batch. */
function trainingActivations(c: ModelConfig, batch: number, seqLen: number): number {
  const a = architectureOf(c);
  const n = batch * seqLen;
  const block =
    F32 * (n * (10 * a.hiddenSize + 4 * a.intermediateSize) + 2 * batch * a.numHeads * seqLen * seqLen);
  return a.numLayers * block + F32 * 4 * n * a.vocabSize;
}

/** The teacher's forward of one micro-batch: one block's working set at a time (no backward), its logits
 *  and the log-probabilities handed to the student (K per position, the vocabulary without top-K), float64
 *  while they are computed; and the student graph's own copy of them with their KL terms. */
function teacherActivations(t: ModelConfig, topK: number | null, batch: number, seqLen: number): number {
  const a = architectureOf(t);
  const n = batch * seqLen;
  const block =
    F32 * (n * (6 * a.hiddenSize + 3 * a.intermediateSize) + 2 * batch * a.numHeads * seqLen * seqLen);
  const k = topK ?? a.vocabSize;
  return block + F32 * n * a.vocabSize + (8 + 4 * F32) * n * k;
}

export function estimateTraining(c: ModelConfig, w: TrainingWorkload): TrainingEstimate {
  const weights = float32WeightBytes(c).total;
  const params = weights / F32;
  const teacherWeights = w.teacher
    ? Math.ceil(float32WeightBytes(w.teacher.config).total * WHOLE_WEIGHT_COPIES)
    : 0;
  const base = w.kind === "cpt" ? 0 : weightBytes(c, w.kind === "lora" ? w.dtype : undefined).total;
  const frozen = Math.ceil(base * WHOLE_WEIGHT_COPIES) + teacherWeights;
  const trainedCount =
    w.kind === "cpt" ? params : w.kind === "partial" ? (w.trainedParams ?? 0) : (w.adapterParams ?? 0);
  const trained = TRAINED_BYTES_PER_PARAM * trainedCount;
  const teacherForward = w.teacher
    ? teacherActivations(w.teacher.config, w.teacher.topK, w.batch, w.seqLen)
    : 0;
  const activations = trainingActivations(c, w.batch, w.seqLen) + teacherForward;
  // LoRA reads an untied head in chunks (../models/head-chunks.ts) unless distilling (all logits needed)
  const a = architectureOf(c);
  const headRows =
    a.tiedHead || w.teacher ? a.vocabSize : Math.min(a.vocabSize, defaultHeadChunkRows(a.hiddenSize));
  const widening = w.kind === "lora" ? halfWideningBytes(c, w.dtype, headRows) : 0;
  const runtime = RUNTIME_BASELINE_BYTES;
  const total = Math.ceil((frozen + trained + activations + widening) * MARGIN) + runtime;
  const teacher = w.teacher ? teacherWeights + teacherForward : undefined;
  return { total, frozen, trained, activations, widening, runtime, ...(teacher ? { teacher } : {}) };
}

/** The estimate against the budget (`memoryBudget`, else SHORTENED_MEMORY_BUDGET, else a share of available
 *  memory); refuses a run that does not fit, naming what would. */
export function planTraining(
  c: ModelConfig,
  w: TrainingWorkload,
  memoryBudget?: string | number,
): TrainingPlan {
  const budget = resolveMemoryBudget(memoryBudget);
  const estimate = estimateTraining(c, w);
  const budgetText = `${formatMemorySize(budget.bytes)} budget (${budget.note ?? budget.source})`;
  const what =
    w.kind === "cpt"
      ? "CPT"
      : w.kind === "partial"
        ? "Partial fine-tuning"
        : "LoRA" + (w.dtype && w.dtype !== "float32" ? ` (${w.dtype} frozen base)` : "");
  if (estimate.total <= budget.bytes) {
    return {
      budget,
      estimate,
      summary:
        `${what}${w.teacher ? " with a distillation teacher" : ""}, estimated peak ` +
        `${formatMemorySize(estimate.total)} of a ${budgetText}`,
    };
  }
  const ways: string[] = [];
  if (w.batch > 1) {
    const one = estimateTraining(c, { ...w, batch: 1 });
    if (one.total <= budget.bytes)
      ways.push(`\`batch\` 1 with \`gradAccum\` ${w.batch} (about ${formatMemorySize(one.total)})`);
  }
  if (w.kind === "cpt") {
    const lora = estimateTraining(c, { ...w, kind: "lora", adapterParams: 0 });
    ways.push(`LoRA instead of CPT (about ${formatMemorySize(lora.total)})`);
  }
  if (w.kind === "lora" && (w.dtype ?? "float32") === "float32") {
    const half = estimateTraining(c, { ...w, dtype: "float16" });
    if (half.total <= budget.bytes)
      ways.push(
        `\`dtype\` float16, the frozen base in half the memory (about ${formatMemorySize(half.total)})`,
      );
  }
  ways.push(
    `a \`memoryBudget\` of at least ${formatMemorySize(estimate.total)} (a GPU worker for large models)`,
  );
  throw new UserError(
    "bad_request",
    `${what} training needs about ${formatMemorySize(estimate.total)} (trained state ${formatMemorySize(estimate.trained)}` +
      `${estimate.frozen ? `, frozen weights ${formatMemorySize(estimate.frozen)}` : ""}` +
      `${estimate.teacher ? ` with the teacher's ${formatMemorySize(estimate.teacher)}` : ""}, activations ` +
      `${formatMemorySize(estimate.activations)}), more than the ${budgetText}; would fit: ${ways.join(", or ")}`,
  );
}
