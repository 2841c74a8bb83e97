// Zero-shot multiple-choice evaluation as in the paper (lm-evaluation-harness 3326c54, num_fewshot 0):
// read each task's file, build the harness requests, tokenize them with the model's own tokenizer, score
// every request of every task in shared batches, and report acc / acc_norm per task plus the paper's table
// (the metric the authors report per task, and their plain average).
import { UserError } from "@shortened/contracts";
import {
  type EncodedItem,
  encodeItem,
  type LoadedTask,
  loadTask,
  loadTokenizer,
  type ReportedMetric,
  type RequestTokenizer,
  readConfig,
  type TokenRequest,
  type ZeroShotBosPolicy,
  type ZeroShotTaskName,
} from "@shortened/hf";
import { type ExecutionPlan, planExecution } from "../../execution/plan.js";
import { streamedLoglikelihoods } from "../../execution/streamed-loglikelihoods.js";
import { StreamedModel } from "../../execution/streamed-model.js";
import type { Device } from "../../graph/session.js";
import { ForwardSession } from "../../models/forward-session.js";
import { type ComputeDtype, checkComputeDtype } from "../../models/precision.js";
import { openCheckpoint } from "../../models/weights.js";
import type { QuantizedRunOptions } from "../../quantize/gptq-matmul.js";
import { softwareVersion } from "../protocol.js";
import { DEFAULT_MAX_BATCH, loglikelihoods } from "./loglikelihood.js";
import { type ItemScore, mean, scoreItem } from "./metrics.js";
import { SharedContextScorer } from "./shared-context.js";

export const HARNESS_COMMIT = "3326c54";

export interface ZeroShotOptions extends QuantizedRunOptions {
  model: string;
  tasks: ZeroShotTaskName[];
  /** Folder holding the task files (see data/zeroshot/PROVENANCE.md). */
  dataDir: string;
  /** Per-task file paths that override the folder. */
  taskFiles?: Partial<Record<ZeroShotTaskName, string>>;
  /** Score the first N documents of each task file. */
  limit?: number;
  device?: Device;
  threads?: number;
  /** compute dtype (default float32; ../../models/precision.ts) */
  dtype?: ComputeDtype;
  tokensPerBatch?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** "shared-context" (default): each context once through the forward graph with its KV cache, then every choice from its
   *  cache; "rows": every request in full through the forward graph (the harness's own layout). */
  strategy?: "shared-context" | "rows";
  /** peak memory allowed ("4G", bytes); default SHORTENED_MEMORY_BUDGET, else a share of available memory */
  memoryBudget?: string | number;
  onPlan?: (plan: ExecutionPlan) => void;
  /** force the whole-model or the streamed plan (still refused when it does not fit) */
  execution?: "whole" | "streamed";
  /** Overrides the model folder's tokenizer (tests with byte-level random models). */
  tokenizer?: RequestTokenizer;
  /** "none" (default): no BOS, as the pinned harness; "tokenizer": the tokenizer's special tokens, as
   *  lm-evaluation-harness 0.4.x (a BOS before every context where the tokenizer adds one). */
  bos?: ZeroShotBosPolicy;
}

export interface TaskResult {
  acc: number;
  /** Null where the harness defines no acc_norm (BoolQ, WinoGrande). */
  acc_norm: number | null;
  n: number;
  /** The metric the paper's table reports for this task, and its value. */
  metric: ReportedMetric;
  value: number;
  split: string;
  file: string;
}

export interface ZeroShotResult {
  tasks: Partial<Record<ZeroShotTaskName, TaskResult>>;
  /** how the run met its memory budget */
  plan: ExecutionPlan;
  /** Mean of the reported metric over the evaluated tasks (the paper's "Average" when all seven run). */
  average: number;
  notes: string[];
  protocol: {
    harness: string;
    bos: ZeroShotBosPolicy;
    num_fewshot: 0;
    max_length: number;
    limit: number | null;
    tokenizer_sha256: string | null;
    dtype: ComputeDtype;
    software: string;
  };
  items: Partial<Record<ZeroShotTaskName, ItemScore[]>>;
}

export async function zeroShot(opts: ZeroShotOptions): Promise<ZeroShotResult> {
  if (opts.tasks.length === 0) throw new UserError("bad_request", "no zero-shot tasks given");
  // Everything that can be wrong with the input is checked before the model is loaded.
  const loaded: LoadedTask[] = opts.tasks.map((name) => {
    const file = opts.taskFiles?.[name];
    return file ? loadTask(name, "", opts.limit, file) : loadTask(name, opts.dataDir, opts.limit);
  });
  const tok = opts.tokenizer ?? loadTokenizer(opts.model);
  const bos = opts.bos ?? "none";
  const dtype = checkComputeDtype(opts.dtype, opts.device);
  const encoded: EncodedItem[][] = loaded.map((t) => t.items.map((item) => encodeItem(tok, item, bos)));
  // The harness asserts every continuation fits the window (it would be scored against too few positions).
  const maxLength = readConfig(opts.model).maxPositionEmbeddings;
  for (const [ti, t] of loaded.entries()) {
    for (const [di, it] of encoded[ti]!.entries()) {
      const longest = Math.max(...it.requests.map((r) => r.continuationIds.length));
      if (longest > maxLength)
        throw new UserError(
          "invalid_data",
          `${t.spec.name} document ${di + 1}: a continuation of ${longest} tokens does not fit the model's ${maxLength}-token window`,
        );
    }
  }

  const all: TokenRequest[] = encoded.flatMap((items) => items.flatMap((it) => it.requests));
  const batching = { tokensPerBatch: opts.tokensPerBatch, onBatch: opts.onProgress, signal: opts.signal };
  // Whole when the model and its longest batch fit; else block-streamed (rows of a pass share each block read).
  const longest = Math.min(
    maxLength,
    Math.max(1, ...all.map((r) => r.contextIds.length + r.continuationIds.length)),
  );
  const config = readConfig(opts.model);
  // No call holds more rows than there are requests, nor more than 64: 2 documents of 4 choices plan for their 8
  // rows, not for the ~80 that 8192 tokens of their length would allow (the estimate was ~5x the peak).
  const batchRows = Math.max(
    1,
    Math.min(Math.floor((opts.tokensPerBatch ?? 8192) / longest), DEFAULT_MAX_BATCH, all.length),
  );
  const plan = planExecution({
    config,
    memoryBudget: opts.memoryBudget,
    what: "zero-shot scoring",
    workload: { batch: batchRows, seqLen: longest, head: "nll", dtype },
    streamed: {
      // streamed, a pass may hold fewer rows than a whole-model batch: its calls shrink with it
      workload: (rows) => ({
        batch: Math.min(batchRows, rows),
        seqLen: longest,
        head: "nll",
        keptRows: rows,
        shapesVary: true,
      }),
      minRows: 1,
      maxRows: Math.max(1, all.length),
      halfDtype: true,
    },
    smallerBatch: "fewer tokens per batch",
    force: opts.execution,
  });
  opts.onPlan?.(plan);
  let lls: number[];
  if (plan.mode === "streamed") {
    const model = await StreamedModel.open(openCheckpoint(opts.model), {
      device: opts.device,
      threads: opts.threads,
      maxSeqLen: longest,
      dtype,
    });
    try {
      lls = await streamedLoglikelihoods(model, all, {
        maxLength,
        ...batching,
        tokensPerBatch: Math.min(opts.tokensPerBatch ?? 8192, plan.rowsPerPass! * longest),
        tokensPerPass: plan.rowsPerPass! * longest,
      });
    } finally {
      await model.release();
    }
  } else if ((opts.strategy ?? "shared-context") === "shared-context") {
    const scorer = await SharedContextScorer.open(opts.model, {
      device: opts.device,
      threads: opts.threads,
      dtype,
      accuracyLevel: opts.accuracyLevel,
    });
    try {
      lls = await scorer.loglikelihoods(all, batching);
    } finally {
      await scorer.release();
    }
  } else {
    const session = await ForwardSession.open(opts.model, {
      nll: true,
      device: opts.device,
      threads: opts.threads,
      dtype,
      accuracyLevel: opts.accuracyLevel,
    });
    try {
      lls = await loglikelihoods(session, all, { maxLength, ...batching });
    } finally {
      await session.release();
    }
  }
  const result: ZeroShotResult = {
    tasks: {},
    plan,
    average: 0,
    notes: loaded.flatMap((t) => t.notes),
    protocol: {
      harness: `lm-evaluation-harness@${HARNESS_COMMIT}`,
      bos,
      num_fewshot: 0,
      max_length: maxLength,
      limit: opts.limit ?? null,
      tokenizer_sha256: "hash" in tok ? String(tok.hash) : null,
      dtype,
      software: softwareVersion(),
    },
    items: {},
  };
  let next = 0;
  loaded.forEach((task, ti) => {
    const scores = encoded[ti]!.map((it) => {
      const itemLls = lls.slice(next, next + it.requests.length);
      next += it.requests.length;
      return scoreItem(itemLls, it.gold, it.choiceChars);
    });
    const acc = mean(scores.map((s) => s.acc));
    const accNorm = task.spec.hasAccNorm ? mean(scores.map((s) => s.accNorm!)) : null;
    const value = task.spec.reported === "acc" ? acc : accNorm!;
    result.tasks[task.spec.name] = {
      acc,
      acc_norm: accNorm,
      n: scores.length,
      metric: task.spec.reported,
      value,
      split: task.spec.split,
      file: task.file,
    };
    result.items[task.spec.name] = scores;
  });
  result.average = mean(Object.values(result.tasks).map((t) => t!.value));
  if (opts.limit !== undefined)
    result.notes.push(`limit ${opts.limit}: first documents only; not comparable with full-split numbers`);
  return result;
}
