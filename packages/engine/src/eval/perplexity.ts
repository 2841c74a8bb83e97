// Perplexity with the paper's protocol (eval_ppl.py): a token stream cut into windows of seqLen with a BOS
// policy, PPL = exp(mean NLL over every predicted position of every window). The result carries its protocol.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import { type Checkpoint, loadEvalText, loadTokenizer } from "@shortened/hf";
import { type ExecutionPlan, planExecution } from "../execution/plan.js";
import { StreamedModel } from "../execution/streamed-model.js";
import { streamedRowNllSums } from "../execution/streamed-rows.js";
import type { Device } from "../graph/session.js";
import { ForwardSession } from "../models/forward-session.js";
import { type ComputeDtype, checkComputeDtype } from "../models/precision.js";
import { maxSequenceLength } from "../models/rope-frequencies.js";
import { checkTokenIds } from "../models/token-checks.js";
import { openCheckpoint } from "../models/weights.js";
import type { QuantizedRunOptions } from "../quantize/gptq-matmul.js";
import { BOS_POLICIES, type BosPolicy, evaluationWindows } from "./perplexity-windows.js";
import { softwareVersion } from "./protocol.js";

export interface PerplexityOptions extends QuantizedRunOptions {
  model: string | Checkpoint;
  /** exactly one source: pre-tokenized ids, a UTF-8 text file, or a dataset name (wikitext2 | ptb) */
  ids?: number[];
  textFile?: string;
  dataset?: string;
  seqLen?: number;
  bos?: BosPolicy;
  /** BOS token id; default the config's bos_token_id (else the tokenizer's) */
  bosId?: number;
  batchSize?: number;
  /** blocks to leave out (gate 0), as if pruned */
  skip?: number[];
  device?: Device;
  threads?: number;
  /** compute dtype (default float32; ../models/precision.ts) */
  dtype?: ComputeDtype;
  /** peak memory allowed ("4G", bytes); default SHORTENED_MEMORY_BUDGET, else a share of available memory */
  memoryBudget?: string | number;
  /** force the whole-model or the streamed plan (still refused when it does not fit) */
  execution?: "whole" | "streamed";
  /** the plan, once chosen, before the model is loaded */
  onPlan?: (plan: ExecutionPlan) => void;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface PerplexityProtocol {
  dataset: string;
  split: string | null;
  source: string;
  seqLen: number;
  bos: BosPolicy;
  bosId: number | null;
  dtype: ComputeDtype;
  tokenizerHash: string | null;
  textSha256: string | null;
  device: Device;
  softwareVersion: string;
}

export interface PerplexityResult {
  /** the model folder */
  model: string;
  ppl: number;
  meanNll: number;
  nllSum: number;
  /** predicted positions */
  tokens: number;
  nsamples: number;
  inputTokens: number;
  segmentMeanNll: number[];
  skip: number[];
  protocol: PerplexityProtocol;
  /** how the run met its memory budget */
  plan: ExecutionPlan;
}

interface TokenStream {
  ids: number[];
  dataset: string;
  split: string | null;
  source: string;
  tokenizerHash: string | null;
  textSha256: string | null;
  tokenizerBos?: number;
}

export async function perplexity(opts: PerplexityOptions): Promise<PerplexityResult> {
  // ---- all checks before any compute ----
  const ckpt = openCheckpoint(opts.model);
  const c = ckpt.config;
  const seqLen = opts.seqLen ?? 128;
  const bos = opts.bos ?? "first";
  const batchSize = opts.batchSize ?? 4;
  if (!Number.isInteger(seqLen) || seqLen < 2)
    throw new UserError("bad_request", `\`seqLen\` must be an integer ≥ 2 (got ${seqLen})`);
  if (seqLen > maxSequenceLength(c)) {
    throw new UserError(
      "bad_request",
      `\`seqLen\` ${seqLen} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`,
    );
  }
  if (!BOS_POLICIES.includes(bos))
    throw new UserError("bad_request", `\`bos\` must be one of ${BOS_POLICIES.join("|")} (got ${bos})`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UserError("bad_request", "`batchSize` must be a positive integer");
  const skip = checkSkip(opts.skip ?? [], c.numHiddenLayers);
  const dtype = checkComputeDtype(opts.dtype, opts.device);
  const stream = tokenStream(opts, ckpt);
  checkTokenIds(stream.ids, c.vocabSize, stream.source);
  let bosId: number | undefined;
  if (bos !== "none") {
    bosId = opts.bosId ?? c.bosTokenId ?? stream.tokenizerBos;
    if (bosId === undefined)
      throw new UserError("bad_request", "the model has no bos_token_id: give `bosId`, or `bos` none");
    checkTokenIds([bosId], c.vocabSize, "BOS id");
  }
  const windows = evaluationWindows(stream.ids, seqLen, bos, bosId);
  if (windows.count === 0) {
    throw new UserError(
      "invalid_data",
      `the token stream has ${stream.ids.length} tokens, fewer than one window of ${seqLen}`,
    );
  }

  const T = windows.length;
  const plan = planExecution({
    config: c,
    memoryBudget: opts.memoryBudget,
    what: "perplexity",
    workload: { batch: batchSize, seqLen: T, head: "nll", dtype },
    streamed: {
      workload: (rows) => ({ batch: batchSize, seqLen: T, head: "nll", keptRows: rows }),
      minRows: Math.min(batchSize, windows.count),
      maxRows: windows.count,
      halfDtype: true,
    },
    force: opts.execution,
  });
  opts.onPlan?.(plan);

  // ---- compute ----
  const gates = new Float32Array(c.numHiddenLayers).fill(1);
  for (const b of skip) gates[b] = 0;
  const session =
    plan.mode === "whole"
      ? await ForwardSession.open(ckpt, {
          device: opts.device,
          threads: opts.threads,
          maxSeqLen: T,
          skipGatedBlocks: skip.length > 0,
          accuracyLevel: opts.accuracyLevel,
          quantizedLinears: opts.quantizedLinears,
          dtype,
        })
      : await StreamedModel.open(ckpt, { device: opts.device, threads: opts.threads, maxSeqLen: T, dtype });
  try {
    const run = {
      batchSize,
      gates,
      signal: opts.signal,
      onBatch: (done: number) => opts.onProgress?.({ done, total: windows.count }),
    };
    const sums =
      session instanceof ForwardSession
        ? await session.rowNllSums(windows.flat, windows.count, T, run)
        : await streamedRowNllSums(session, windows.flat, windows.count, T, {
            ...run,
            rowsPerPass: plan.rowsPerPass!,
          });
    const perRow = windows.length - 1;
    const nllSum = sums.reduce((a, b) => a + b, 0);
    const tokens = windows.count * perRow;
    const meanNll = nllSum / tokens;
    return {
      model: ckpt.dir,
      ppl: Math.exp(meanNll),
      meanNll,
      nllSum,
      tokens,
      nsamples: windows.count,
      inputTokens: stream.ids.length,
      segmentMeanNll: Array.from(sums, (s) => s / perRow),
      skip,
      protocol: {
        dataset: stream.dataset,
        split: stream.split,
        source: stream.source,
        seqLen,
        bos,
        bosId: bosId ?? null,
        dtype,
        tokenizerHash: stream.tokenizerHash,
        textSha256: stream.textSha256,
        device: opts.device ?? "cpu",
        softwareVersion: softwareVersion(),
      },
      plan,
    };
  } finally {
    await session.release();
  }
}

function checkSkip(skip: number[], L: number): number[] {
  for (const b of skip) {
    if (!Number.isInteger(b) || b < 0 || b >= L)
      throw new UserError("invalid_blocks", `block ${b} does not exist (0..${L - 1})`);
  }
  return [...new Set(skip)].sort((a, b) => a - b);
}

function tokenStream(opts: PerplexityOptions, ckpt: Checkpoint): TokenStream {
  const given = [opts.ids !== undefined, opts.textFile !== undefined, opts.dataset !== undefined].filter(
    Boolean,
  ).length;
  if (given !== 1) throw new UserError("bad_request", "give exactly one of ids, a text file, or a dataset");
  if (opts.ids) {
    if (opts.ids.length === 0) throw new UserError("invalid_data", "the token stream is empty");
    return {
      ids: opts.ids,
      dataset: "ids",
      split: null,
      source: "ids",
      tokenizerHash: null,
      textSha256: null,
    };
  }
  let text: string;
  let dataset: string;
  let split: string | null = null;
  let source: string;
  if (opts.textFile !== undefined) {
    if (!existsSync(opts.textFile))
      throw new UserError("not_found", `text file ${opts.textFile} does not exist`);
    text = readFileSync(opts.textFile, "utf8");
    dataset = "text";
    source = opts.textFile;
  } else {
    const d = loadEvalText(opts.dataset!);
    text = d.text;
    dataset = d.dataset;
    split = d.split;
    source = d.source;
  }
  if (text.trim().length === 0) throw new UserError("invalid_data", `${source}: the text is empty`);
  const tok = loadTokenizer(ckpt.dir);
  const ids = tok.encode(text, { addSpecialTokens: false });
  if (ids.length === 0) throw new UserError("invalid_data", `${source}: the text has no tokens`);
  return {
    ids,
    dataset,
    split,
    source,
    tokenizerHash: tok.hash,
    textSha256: createHash("sha256").update(text).digest("hex"),
    tokenizerBos: tok.bosId,
  };
}
