// Loglikelihoods of many (context, continuation) token requests, as lm-evaluation-harness
// `BaseLM._loglikelihood_tokens` computes them: the model reads (context + continuation)[-(M+1):][:-1] and the
// continuation's log-probabilities are summed. Requests are deduplicated, sorted by length and packed
// right-padded into batches of the fused-NLL forward graph (padding sits after every scored position, and
// attention is causal, so it changes nothing). Sums are in float64.
import { UserError } from "@shortened/contracts";
import type { TokenRequest } from "@shortened/hf";
import type { ForwardSession } from "../../models/forward-session.js";

/** Rows per forward call unless `maxBatch` says otherwise (the harness's batches and the shared-context scorer's). */
export const DEFAULT_MAX_BATCH = 64;

export interface LoglikelihoodOptions {
  /** The model's context window M (harness `max_length`). */
  maxLength: number;
  /** Upper bound on batch × padded length per session run. */
  tokensPerBatch?: number;
  /** Upper bound on rows per session run. */
  maxBatch?: number;
  onBatch?: (doneRequests: number, totalRequests: number) => void;
  signal?: AbortSignal;
}

export interface Row {
  ids: number[];
  /** scored positions are [start, ids.length - 1) of the model input; targets are ids[start+1 ..] */
  start: number;
  slots: number[];
}

/** The model input row of a request (the harness's (context + continuation)[-(M+1):]) and where its
 *  continuation's predictions start; ids[0..start] is the context the model sees (≥ 1 token). */
export function harnessWindow(req: TokenRequest, maxLength: number): { ids: number[]; start: number } {
  if (req.contextIds.length === 0 || req.continuationIds.length === 0)
    throw new UserError(
      "invalid_data",
      "a zero-shot request has an empty context or continuation after tokenization",
    );
  if (req.continuationIds.length > maxLength)
    throw new UserError(
      "invalid_data",
      `a zero-shot continuation of ${req.continuationIds.length} tokens does not fit the model's ${maxLength}-token window`,
    );
  // Keep M+1 tokens: M model inputs plus the last target.
  const full = [...req.contextIds, ...req.continuationIds].slice(-(maxLength + 1));
  return { ids: full, start: full.length - 1 - req.continuationIds.length };
}

/** One forward call's rows: right-padded ids and targets [B, T] and the requests each row answers. */
export interface PackedBatch {
  B: number;
  T: number;
  ids: Int32Array;
  targets: Int32Array;
  rows: Row[];
}

/** Deduplicated request rows, longest first (as the harness's Reorderer, so each batch pads little and the
 *  first run is the largest), packed into batches of at most tokensPerBatch tokens and maxBatch rows. */
export function packRequests(
  requests: TokenRequest[],
  opts: Pick<LoglikelihoodOptions, "maxLength" | "tokensPerBatch" | "maxBatch">,
): PackedBatch[] {
  const tokensPerBatch = opts.tokensPerBatch ?? 8192;
  const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
  const rows = new Map<string, Row>();
  requests.forEach((req, slot) => {
    const { ids, start } = harnessWindow(req, opts.maxLength);
    const key = `${start}:${ids.join(",")}`;
    const row = rows.get(key);
    if (row) row.slots.push(slot);
    else rows.set(key, { ids, start, slots: [slot] });
  });
  const ordered = [...rows.values()].sort((a, b) => b.ids.length - a.ids.length);
  const batches: PackedBatch[] = [];
  for (let i = 0; i < ordered.length; ) {
    const T = ordered[i]!.ids.length - 1;
    const B = Math.max(
      1,
      Math.min(maxBatch, Math.floor(tokensPerBatch / Math.max(1, T)), ordered.length - i),
    );
    const batch = ordered.slice(i, i + B);
    const ids = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    batch.forEach((row, b) => {
      for (let t = 0; t < row.ids.length - 1; t++) {
        ids[b * T + t] = row.ids[t]!;
        targets[b * T + t] = row.ids[t + 1]!;
      }
    });
    batches.push({ B, T, ids, targets, rows: batch });
    i += B;
  }
  return batches;
}

/** Writes each row's continuation loglikelihood (float64 sum of −NLL over its scored positions) to its
 *  requests' slots; returns how many requests that answered. */
export function recordBatch(batch: PackedBatch, nll: ArrayLike<number>, out: number[]): number {
  let done = 0;
  batch.rows.forEach((row, b) => {
    let ll = 0;
    for (let t = row.start; t < row.ids.length - 1; t++) ll -= nll[b * batch.T + t]!;
    for (const slot of row.slots) out[slot] = ll;
    done += row.slots.length;
  });
  return done;
}

export async function loglikelihoods(
  session: ForwardSession,
  requests: TokenRequest[],
  opts: LoglikelihoodOptions,
): Promise<number[]> {
  const out: number[] = new Array(requests.length);
  let done = 0;
  for (const batch of packRequests(requests, opts)) {
    if (opts.signal?.aborted) throw new UserError("cancelled", "zero-shot evaluation cancelled");
    const { B, T, ids, targets } = batch;
    const res = await session.run({ batch: B, seqLen: T, ids, targets }, { nll: true });
    done += recordBatch(batch, res.nll!, out);
    opts.onBatch?.(done, requests.length);
  }
  return out;
}
