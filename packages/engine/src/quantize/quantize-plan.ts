// The memory plan of a quantization, made before anything is loaded: the calibration rows' hidden states (kept
// for the whole run), one block's float32 weights (the checkpoint's and the quantized replacements) and the
// largest linear's float64 working copy, the factor of the widest Hessian (H, the permuted U being factored and
// the blocked factor's quarter-size pieces, ./blocked-factor.ts) and one forward's activations for `batch` rows
// (the execution layer's per-block estimate). The batch shrinks until the peak fits the budget; when one row
// does not fit, the run is refused with what would.
import { UserError } from "@shortened/contracts";
import type { ModelConfig } from "@shortened/hf";
import { type MemoryBudget, resolveMemoryBudget } from "../execution/budget.js";
import { float32WeightBytes, RUNTIME_BASELINE_BYTES } from "../execution/estimate.js";
import { budgetFlagValue, formatMemorySize } from "../execution/memory-size.js";
import { architectureOf } from "../models/architecture.js";

export interface QuantizeEstimate {
  total: number;
  hiddenStates: number;
  weights: number;
  factor: number;
  activations: number;
  runtime: number;
}

export interface QuantizePlan {
  budget: MemoryBudget;
  /** calibration rows per forward (the asked batch, or fewer to fit) */
  batch: number;
  estimate: QuantizeEstimate;
  summary: string;
}

const F32 = 4;
const F64 = 8;

export function estimateQuantize(
  c: ModelConfig,
  rows: number,
  seqLen: number,
  batch: number,
  method: "gptq" | "rtn",
): QuantizeEstimate {
  const a = architectureOf(c);
  const linears = a.blockTensors.filter((t) => t.role === "weight" && t.shape.length === 2);
  const widest = Math.max(...linears.map((t) => t.shape[1]!));
  const largest = Math.max(...linears.map((t) => t.shape[0]! * t.shape[1]!));
  const hiddenStates = rows * seqLen * a.hiddenSize * F32;
  // the block's weights twice (read and quantized), the largest linear's float64 Wt and the trailing update's tail
  const weights = 2 * float32WeightBytes(c).block + 2 * largest * F64;
  // H, U (RTN: and the damped H) and the blocked factor's five quarter-size pieces at its top split
  const factor = widest * widest * (F64 * (2 + (method === "rtn" ? 1 : 0) + 5 / 4) + F32);
  const n = batch * seqLen;
  const activations =
    F32 *
    (8 * n * a.hiddenSize +
      3 * batch * a.numHeads * seqLen * seqLen +
      3 * n * a.intermediateSize +
      n * a.hiddenSize);
  const runtime = RUNTIME_BASELINE_BYTES;
  return {
    total: hiddenStates + weights + factor + activations + runtime,
    hiddenStates,
    weights,
    factor,
    activations,
    runtime,
  };
}

export function planQuantize(req: {
  config: ModelConfig;
  rows: number;
  seqLen: number;
  batch: number;
  method: "gptq" | "rtn";
  memoryBudget?: string | number;
}): QuantizePlan {
  const budget = resolveMemoryBudget(req.memoryBudget);
  const est = (b: number) => estimateQuantize(req.config, req.rows, req.seqLen, b, req.method);
  const budgetText = `${formatMemorySize(budget.bytes)} budget (${budget.note ?? budget.source})`;
  let batch = Math.max(1, Math.min(req.batch, req.rows));
  while (batch > 1 && est(batch).total > budget.bytes) batch = Math.floor(batch / 2);
  const estimate = est(batch);
  if (estimate.total > budget.bytes) {
    const ways = [`\`memoryBudget\` ${budgetFlagValue(estimate.total)}`];
    const fixed = estimate.total - estimate.hiddenStates;
    const rowBytes = req.seqLen * req.config.hiddenSize * F32;
    const fitRows = Math.floor((budget.bytes - fixed) / rowBytes);
    if (fitRows >= 1 && fitRows < req.rows)
      ways.push(`at most ${fitRows} calibration rows of ${req.seqLen} tokens`);
    ways.push("shorter calibration rows");
    throw new UserError(
      "bad_request",
      `quantizing does not fit the ${budgetText}: one row per forward needs about ${formatMemorySize(estimate.total)} ` +
        `(calibration hidden states ${formatMemorySize(estimate.hiddenStates)}, a block's weights ${formatMemorySize(estimate.weights)}, ` +
        `the factor of H⁻¹ ${formatMemorySize(estimate.factor)}, activations ${formatMemorySize(estimate.activations)}); would fit: ${ways.join(", or ")}`,
    );
  }
  return {
    budget,
    batch,
    estimate,
    summary:
      `block by block, ${batch} calibration row${batch === 1 ? "" : "s"} per forward${batch < req.batch && batch < req.rows ? ` (of ${req.batch} asked)` : ""}, ` +
      `estimated peak ${formatMemorySize(estimate.total)} of a ${budgetText}`,
  };
}
