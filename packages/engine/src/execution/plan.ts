// The execution plan of a run: whole model when its estimated peak fits the memory budget, else block-streamed
// (one block's weights resident, as many rows per pass as fit, so each weight read serves many rows), else a
// refusal that says what would fit. Chosen before anything is loaded; printed and stored with the result.
import { UserError } from "@shortened/contracts";
import type { ModelConfig } from "@shortened/hf";
import { type MemoryBudget, resolveMemoryBudget } from "./budget.js";
import { estimateStreamed, estimateWhole, type MemoryEstimate, type Workload } from "./estimate.js";
import { budgetFlagValue, formatMemorySize } from "./memory-size.js";

export interface ExecutionPlan {
  mode: "whole" | "streamed";
  budget: MemoryBudget;
  estimate: MemoryEstimate;
  /** blocks whose weights are in memory at once */
  residentBlocks: number;
  /** streamed: rows that go through every block before the next rows start (each block read once per pass) */
  rowsPerPass?: number;
  /** streamed, where the use case stacks several states' rows into one call (the PPL criterion's candidates):
   *  rows per block or head call, their activations counted in the estimate */
  rowsPerCall?: number;
  /** one line for people, e.g. "whole model, estimated peak 1.21 GB of a 4.00 GB budget (option)" */
  summary: string;
}

export interface PlanRequest {
  config: ModelConfig;
  /** the caller's memoryBudget (size text or bytes); else the env var, else the default */
  memoryBudget?: string | number;
  /** what runs, for messages: "perplexity", "the PPL criterion" */
  what: string;
  /** the workload of one whole-model run */
  workload: Workload;
  /** the streamed workload for a pass of `rows` rows; absent when this use case cannot stream yet.
   *  `halfDtype`: the streamed path runs in the workload's half dtype (else it streams float32 only) */
  streamed?: {
    workload: (rows: number) => Workload;
    maxRows: number;
    minRows: number;
    halfDtype?: boolean;
    /** the most rows one call can stack for a pass of `rows` rows (absent: calls take the workload's batch) */
    stackRows?: (rows: number) => number;
  };
  /** what lowers the workload's batch, for the refusal (default "a smaller `batchSize`") */
  smallerBatch?: string;
  /** "whole" or "streamed" forces a mode (tests, benchmarks); still refused when it does not fit */
  force?: "whole" | "streamed";
}

function dtypeNote(req: PlanRequest): string {
  const dtype = req.workload.dtype ?? "float32";
  return dtype === "float32" ? "" : ` (${dtype} weights)`;
}

/** float16 streams where the use case's streamed path runs in it (`halfDtype`); elsewhere, and for bfloat16
 *  (onnxruntime-node feeds no bfloat16 tensors), a half dtype runs the whole model. The streamed workload gets
 *  the dtype. */
function streamable(req: PlanRequest): PlanRequest["streamed"] {
  const dtype = req.workload.dtype ?? "float32";
  const s = req.streamed;
  if (!s || (dtype !== "float32" && !(s.halfDtype && dtype === "float16"))) return undefined;
  return { ...s, workload: (rows) => ({ ...s.workload(rows), dtype }) };
}

export function planExecution(req: PlanRequest): ExecutionPlan {
  const budget = resolveMemoryBudget(req.memoryBudget);
  const L = req.config.numHiddenLayers;
  const whole = estimateWhole(req.config, req.workload);
  const budgetText = `${formatMemorySize(budget.bytes)} budget (${budget.note ?? budget.source})`;
  if (req.force !== "streamed" && whole.total <= budget.bytes) {
    return {
      mode: "whole",
      budget,
      estimate: whole,
      residentBlocks: L,
      summary: `whole model${dtypeNote(req)}, estimated peak ${formatMemorySize(whole.total)} of a ${budgetText}`,
    };
  }
  const s = streamable(req);
  if (s && req.force !== "whole") {
    const fits = (rows: number) => estimateStreamed(req.config, s.workload(rows)).total <= budget.bytes;
    if (fits(s.minRows)) {
      let rows = s.minRows;
      while (rows < s.maxRows && fits(Math.min(s.maxRows, rows * 2))) rows = Math.min(s.maxRows, rows * 2);
      // Rows per pass first (each pass reads every block again), then calls as large as the rest allows.
      const pass = s.workload(rows);
      const stacked = (n: number) => ({ ...pass, batch: n });
      let perCall = pass.batch;
      const most = s.stackRows?.(rows) ?? perCall;
      const callFits = (n: number) => estimateStreamed(req.config, stacked(n)).total <= budget.bytes;
      while (perCall < most && callFits(Math.min(most, perCall * 2))) perCall = Math.min(most, perCall * 2);
      const estimate = estimateStreamed(req.config, stacked(perCall));
      return {
        mode: "streamed",
        budget,
        estimate,
        residentBlocks: 1,
        rowsPerPass: rows,
        ...(s.stackRows && { rowsPerCall: perCall }),
        summary:
          `streamed${dtypeNote(req)}, 1 of ${L} blocks resident, ${rows} rows per pass, ` +
          `${s.stackRows ? `${perCall} rows per call, ` : ""}estimated peak ` +
          `${formatMemorySize(estimate.total)} of a ${budgetText}`,
      };
    }
  }
  const least = s ? estimateStreamed(req.config, s.workload(s.minRows)).total : whole.total;
  const ways =
    s && least < whole.total
      ? [
          `\`memoryBudget\` ${budgetFlagValue(least)} (streamed, one block resident)`,
          `${budgetFlagValue(whole.total)} for the whole model`,
        ]
      : [`\`memoryBudget\` ${budgetFlagValue(whole.total)} (the whole model)`];
  const dtype = req.workload.dtype ?? "float32";
  if (dtype === "float32") {
    const half = estimateWhole(req.config, { ...req.workload, dtype: "float16" }).total;
    if (half <= budget.bytes)
      ways.push(`\`dtype\` float16 (the whole model in about ${formatMemorySize(half)})`);
  } else if (req.streamed && !(req.streamed.halfDtype && dtype === "float16")) {
    const f32 = estimateStreamed(req.config, req.streamed.workload(req.streamed.minRows)).total;
    ways.push(`\`dtype\` float32, block-streamed, with a \`memoryBudget\` of ${budgetFlagValue(f32)}`);
  }
  if (!s && !req.streamed) ways.push(`streaming does not serve ${req.what} yet`);
  if (req.workload.batch > 1) ways.push(req.smallerBatch ?? "a smaller `batchSize`");
  throw new UserError(
    "bad_request",
    `${req.what} does not fit the ${budgetText}: the whole model needs about ${formatMemorySize(whole.total)}` +
      `${s ? `, streamed about ${formatMemorySize(least)}` : ""}; would fit: ${ways.join(", or ")}`,
  );
}
