// Calibration rows for the importance criteria: from a file ({"batch": [[...], ...]}) or drawn from a text
// corpus with the oracle's `gen-calib` rule (a deterministic stand-in for the authors' dataset.get_examples):
// the text is tokenized whole without special tokens, then n distinct windows of seqLen tokens are drawn with
// start j = randbelow(N − S + 1) (redrawn while j was already used), randbelow(m) = floor(u·m), u from
// mulberry32(seed). With BOS "every" (the authors' --add_bos_to_every) a row is [BOS] + window[:-1].
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import { type Checkpoint, loadTokenizer } from "@shortened/hf";
import { maxSequenceLength } from "../models/rope-frequencies.js";
import { checkRows } from "../models/token-checks.js";
import { mulberry32, randbelow } from "../random.js";

/** The oracle's gen-calib stream mode. */
export function drawCalibrationRows(
  ids: readonly number[],
  opts: { n: number; seqLen: number; seed: number; bos?: "none" | "every"; bosId?: number },
): { rows: number[][]; starts: number[] } {
  const N = ids.length;
  const S = opts.seqLen;
  if (N < S)
    throw new UserError(
      "invalid_data",
      `the calibration text has ${N} tokens, fewer than \`calibration.seqLen\` ${S}`,
    );
  if (N - S + 1 < opts.n)
    throw new UserError(
      "invalid_data",
      `cannot draw ${opts.n} distinct windows of ${S} tokens from ${N} tokens`,
    );
  const next = mulberry32(opts.seed);
  const used = new Set<number>();
  const rows: number[][] = [];
  const starts: number[] = [];
  for (let k = 0; k < opts.n; k++) {
    let j: number;
    do j = randbelow(next, N - S + 1);
    while (used.has(j));
    used.add(j);
    starts.push(j);
    const w = ids.slice(j, j + S);
    rows.push(opts.bos === "every" ? [opts.bosId!, ...w.slice(0, -1)] : w);
  }
  return { rows, starts };
}

export interface CalibrationOptions {
  /** rows given directly, or a JSON file {"batch": [[..], ..]} */
  calibIds?: number[][];
  calibIdsFile?: string;
  /** or a UTF-8 text file to draw windows from */
  calibText?: string;
  /** the name the protocol records for that text (e.g. "wikitext2"; default: the file's path): a job's copy
   *  of the text lies in a temporary folder, a path that tells a later reader nothing */
  calibSource?: string;
  n?: number;
  seqLen?: number;
  seed?: number;
  calibBos?: "none" | "every";
}

export interface Calibration {
  flat: number[];
  rows: number;
  seqLen: number;
  /** what the rows came from, and a hash of the rows themselves */
  protocol: {
    source: string;
    n: number;
    seqLen: number;
    seed: number | null;
    bos: string;
    /** the text's own hash (null for rows given as ids), so two protocols name the same text or not */
    textSha256: string | null;
    rowsSha256: string;
    tokenizerHash: string | null;
  };
}

export function loadCalibration(opts: CalibrationOptions, ckpt: Checkpoint): Calibration {
  const V = ckpt.config.vocabSize;
  const given = [opts.calibIds, opts.calibIdsFile, opts.calibText].filter((x) => x !== undefined).length;
  if (given !== 1)
    throw new UserError("bad_request", "give exactly one calibration source: rows of token ids or a text");
  let rows: unknown;
  let source: string;
  let seed: number | null = null;
  let tokenizerHash: string | null = null;
  let textSha256: string | null = null;
  let bos = "as given";
  if (opts.calibText !== undefined) {
    if (!existsSync(opts.calibText))
      throw new UserError("not_found", `calibration text ${opts.calibText} does not exist`);
    const text = readFileSync(opts.calibText, "utf8");
    if (text.trim().length === 0) throw new UserError("invalid_data", `${opts.calibText}: the text is empty`);
    textSha256 = createHash("sha256").update(text).digest("hex");
    const n = opts.n ?? 10;
    const seqLen = opts.seqLen ?? 128;
    seed = opts.seed ?? 1234;
    bos = opts.calibBos ?? "none";
    checkSeqLen(seqLen, ckpt);
    if (!Number.isInteger(n) || n < 1)
      throw new UserError("bad_request", `\`calibration.n\` must be a positive integer (got ${n})`);
    const tok = loadTokenizer(ckpt.dir);
    tokenizerHash = tok.hash;
    const bosId = ckpt.config.bosTokenId ?? tok.bosId;
    if (bos === "every" && bosId === undefined)
      throw new UserError("bad_request", "`calibration.bos` every needs a bos_token_id");
    rows = drawCalibrationRows(tok.encode(text, { addSpecialTokens: false }), {
      n,
      seqLen,
      seed,
      bos: bos as "none" | "every",
      bosId,
    }).rows;
    source = opts.calibSource ?? opts.calibText;
  } else {
    source = opts.calibSource ?? opts.calibIdsFile ?? "calibration rows";
    rows = opts.calibIds ?? readBatchFile(opts.calibIdsFile!);
  }
  const checked = checkRows(rows, V, source);
  let { flat, seqLen } = checked;
  if (opts.seqLen !== undefined && opts.calibText === undefined) {
    checkSeqLen(opts.seqLen, ckpt);
    if (seqLen < opts.seqLen) {
      throw new UserError(
        "invalid_data",
        `${source}: rows have ${seqLen} tokens, shorter than \`calibration.seqLen\` ${opts.seqLen}`,
      );
    }
    if (seqLen > opts.seqLen) {
      // keep the first seqLen tokens of each row
      const cut: number[] = [];
      for (let r = 0; r < checked.batch; r++) cut.push(...flat.slice(r * seqLen, r * seqLen + opts.seqLen));
      flat = cut;
      seqLen = opts.seqLen;
    }
  }
  if (seqLen > ckpt.config.maxPositionEmbeddings) checkSeqLen(seqLen, ckpt);
  const rowsSha256 = createHash("sha256").update(JSON.stringify(flat)).digest("hex");
  return {
    flat,
    rows: checked.batch,
    seqLen,
    protocol: { source, n: checked.batch, seqLen, seed, bos, textSha256, rowsSha256, tokenizerHash },
  };
}

function checkSeqLen(seqLen: number, ckpt: Checkpoint): void {
  if (!Number.isInteger(seqLen) || seqLen < 2)
    throw new UserError("bad_request", `\`calibration.seqLen\` must be an integer ≥ 2 (got ${seqLen})`);
  const max = ckpt.config.maxPositionEmbeddings;
  if (seqLen > maxSequenceLength(ckpt.config))
    throw new UserError(
      "bad_request",
      `\`calibration.seqLen\` ${seqLen} exceeds max_position_embeddings ${max}`,
    );
}

/** {"batch": [[..]]} (or {"ids": [..]} as one row), as the oracle's files. */
export function readBatchFile(path: string): unknown {
  if (!existsSync(path)) throw new UserError("not_found", `calibration file ${path} does not exist`);
  let d: unknown;
  try {
    d = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError("invalid_data", `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const o = d as Record<string, unknown> | null;
  if (o && Array.isArray(o.batch)) return o.batch;
  if (o && Array.isArray(o.ids)) return Array.isArray(o.ids[0]) ? o.ids : [o.ids];
  throw new UserError("invalid_data", `${path}: expected {"batch": [[ids...], ...]}`);
}
