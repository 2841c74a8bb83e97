// Training rows from the three accepted inputs, checked before any compute:
// - pre-tokenized `{"batch": [[ids]], "labels"?: [[ids or -100]]}` (the oracle's TRAIN files);
// - Alpaca-style JSON (a list of {instruction, input?, output}) with the alpaca-lora prompt template;
// - raw text, tokenized whole and packed into rows of seqLen tokens.
// Rows may differ in length (instructions); a micro-batch is right-padded with ignored labels, which under a
// causal mask changes no real token's output.
import { existsSync, readFileSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import type { TextTokenizer } from "@shortened/hf";

export const IGNORE = -100;

export interface TrainRows {
  ids: number[][];
  labels: number[][];
  /** where the rows came from, for the run record */
  source: string;
  /** instruction examples left out because the cut at maxLen kept no response token to learn */
  dropped?: number;
}

const PROMPT_INPUT =
  "Below is an instruction that describes a task, paired with an input that provides further context. " +
  "Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n";
const PROMPT_NO_INPUT =
  "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
  "### Instruction:\n{instruction}\n\n### Response:\n";

/** alpaca-lora's generate_prompt (templates/alpaca.json). */
export function alpacaPrompt(instruction: string, input?: string, output?: string): string {
  const p = input
    ? PROMPT_INPUT.replace("{instruction}", instruction).replace("{input}", input)
    : PROMPT_NO_INPUT.replace("{instruction}", instruction);
  return output ? `${p}${output}` : p;
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new UserError("not_found", `data file ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError("invalid_data", `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function checkIds(row: unknown, vocab: number, where: string, allowIgnore = false): number[] {
  if (!Array.isArray(row)) throw new UserError("invalid_data", `${where} is not a list of token ids`);
  for (const t of row) {
    const ok = Number.isInteger(t) && ((t >= 0 && t < vocab) || (allowIgnore && t === IGNORE));
    if (!ok)
      throw new UserError(
        "invalid_data",
        `${where}: ${JSON.stringify(t)} is not a token id in [0, ${vocab})`,
      );
  }
  return row as number[];
}

/** `{"batch": [...], "labels"?: [...]}` or `{"ids": [...]}`. */
export function readIdsRows(path: string, vocab: number): TrainRows {
  const d = readJson(path) as Record<string, unknown> | null;
  let batch: unknown = d?.batch;
  if (!Array.isArray(batch) && Array.isArray(d?.ids)) batch = Array.isArray(d.ids[0]) ? d.ids : [d.ids];
  if (!Array.isArray(batch))
    throw new UserError("invalid_data", `${path}: expected {"batch": [[ids...], ...]}`);
  const ids = batch.map((r, i) => checkIds(r, vocab, `${path} row ${i}`));
  let labels = ids.map((r) => [...r]);
  if (d?.labels !== undefined) {
    if (!Array.isArray(d.labels) || d.labels.length !== ids.length) {
      throw new UserError("invalid_data", `${path}: "labels" must have one row per "batch" row`);
    }
    labels = d.labels.map((r, i) => {
      const l = checkIds(r, vocab, `${path} labels row ${i}`, true);
      if (l.length !== ids[i]!.length)
        throw new UserError(
          "invalid_data",
          `${path}: labels row ${i} has ${l.length} entries, ids ${ids[i]!.length}`,
        );
      return l;
    });
  }
  return finish({ ids, labels, source: path });
}

export interface AlpacaOptions {
  /** also learn the prompt tokens (alpaca-lora's train_on_inputs); default false */
  trainOnInputs?: boolean;
  /** cutoff_len (default 256) */
  maxLen?: number;
}

/**
 * alpaca-lora's tokenize/generate_and_tokenize_prompt: BOS + prompt + output (+ EOS when it fits). Unlike
 * alpaca-lora, an example whose prompt fills all maxLen tokens is left out (counted in `dropped`): with its
 * response cut entirely no token has a label, and a step made only of such rows has a loss of 0/0 (NaN).
 */
export function alpacaRows(path: string, tok: TextTokenizer, opts: AlpacaOptions = {}): TrainRows {
  const d = readJson(path);
  if (!Array.isArray(d))
    throw new UserError("invalid_data", `${path}: expected a JSON list of {instruction, input, output}`);
  const maxLen = opts.maxLen ?? 256;
  const ids: number[][] = [];
  const labels: number[][] = [];
  let dropped = 0;
  d.forEach((ex, i) => {
    const e = ex as Record<string, unknown> | null;
    const field = (k: string, required: boolean): string => {
      const v = e?.[k];
      if (v === undefined || v === null) {
        if (required) throw new UserError("invalid_data", `${path} item ${i}: missing "${k}"`);
        return "";
      }
      if (typeof v !== "string")
        throw new UserError("invalid_data", `${path} item ${i}: "${k}" must be a string`);
      return v;
    };
    if (!e || typeof e !== "object" || Array.isArray(e))
      throw new UserError("invalid_data", `${path} item ${i} is not an object`);
    const instruction = field("instruction", true);
    const input = field("input", false);
    const output = field("output", true);
    const tokenize = (text: string, addEos: boolean) => {
      let t = tok.encode(text, { addSpecialTokens: true }).slice(0, maxLen);
      if (addEos && tok.eosId !== undefined && t[t.length - 1] !== tok.eosId && t.length < maxLen)
        t = [...t, tok.eosId];
      return t;
    };
    const full = tokenize(alpacaPrompt(instruction, input, output), true);
    let lab = [...full];
    if (!opts.trainOnInputs) {
      const promptLen = tokenize(alpacaPrompt(instruction, input), false).length;
      lab = full.map((t, j) => (j < promptLen ? IGNORE : t));
    }
    // Position 0 is never a target (targets are the next tokens).
    if (!lab.slice(1).some((t) => t !== IGNORE)) {
      dropped++;
      return;
    }
    ids.push(full);
    labels.push(lab);
  });
  if (ids.length === 0 && dropped > 0)
    throw new UserError(
      "invalid_data",
      `${path}: no row has a label to learn: every example's prompt fills the ${maxLen} tokens (raise seqLen, or set trainOnInputs)`,
    );
  return finish({ ids, labels, source: path, ...(dropped ? { dropped } : {}) });
}

/** Raw text tokenized whole (no special tokens, as dataset.process_data) and cut into rows of seqLen. */
export function packedTextRows(path: string, tok: TextTokenizer, seqLen: number): TrainRows {
  if (!existsSync(path)) throw new UserError("not_found", `data file ${path} does not exist`);
  const text = readFileSync(path, "utf8");
  const all = tok.encode(text, { addSpecialTokens: false });
  const ids: number[][] = [];
  for (let i = 0; i + seqLen <= all.length; i += seqLen) ids.push(all.slice(i, i + seqLen));
  if (ids.length === 0)
    throw new UserError(
      "invalid_data",
      `${path}: ${all.length} tokens, fewer than one row of \`seqLen\` ${seqLen}`,
    );
  return finish({ ids, labels: ids.map((r) => [...r]), source: path });
}

function finish(rows: TrainRows): TrainRows {
  if (rows.ids.length === 0) throw new UserError("invalid_data", `${rows.source}: the dataset is empty`);
  rows.ids.forEach((r, i) => {
    if (r.length < 2) throw new UserError("invalid_data", `${rows.source} row ${i}: fewer than 2 tokens`);
  });
  if (!rows.labels.some((l) => l.slice(1).some((t) => t !== IGNORE))) {
    throw new UserError("invalid_data", `${rows.source}: no row has a label to learn (all are -100)`);
  }
  return rows;
}

export interface MicroBatch {
  batch: number;
  seqLen: number;
  ids: BigInt64Array;
  /** targets[t] = labels[t+1] (0 where ignored) and mask[t] = 1 where that label counts */
  targets: BigInt64Array;
  mask: Float32Array;
  valid: number;
}

/** The rows `sel`, right-padded to their longest with `padId`, as graph feeds. */
export function microBatch(rows: TrainRows, sel: number[], padId: number): MicroBatch {
  const B = sel.length;
  const T = Math.max(...sel.map((r) => rows.ids[r]!.length));
  const ids = new BigInt64Array(B * T).fill(BigInt(padId));
  const targets = new BigInt64Array(B * T);
  const mask = new Float32Array(B * T);
  let valid = 0;
  sel.forEach((r, b) => {
    const row = rows.ids[r]!;
    const lab = rows.labels[r]!;
    for (let t = 0; t < row.length; t++) ids[b * T + t] = BigInt(row[t]!);
    for (let t = 0; t + 1 < row.length; t++) {
      const y = lab[t + 1]!;
      if (y === IGNORE) continue;
      targets[b * T + t] = BigInt(y);
      mask[b * T + t] = 1;
      valid++;
    }
  });
  return { batch: B, seqLen: T, ids, targets, mask, valid };
}
