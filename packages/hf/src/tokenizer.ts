// Text tokenizer of a model folder (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { UserError } from "@shortened/contracts";

export interface TextTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[]): string;
  readonly bosId?: number;
  readonly eosId?: number;
  /** sha256 of tokenizer.json */
  readonly hash: string;
}

const METASPACE = "\u2581";

/**
 * SentencePiece-converted tokenizers (LLaMA-2 style) have no pre-tokenizer, so the JS BPE runs on whole
 * paragraphs and is ~20x slower. Splitting before every "▁" that follows another character gives the same
 * ids when no vocabulary piece contains such a boundary (then no merge can cross it) and "▁" itself is a
 * piece (so unknown characters never fuse across it). See RECIPES.md §5.
 */
export const METASPACE_SPLIT = {
  type: "Split",
  pattern: { Regex: `${METASPACE}*[^${METASPACE}]+|${METASPACE}+` },
  behavior: "Isolated",
  invert: true,
} as const;

export function metaspaceSplitIsSafe(json: Record<string, unknown>): boolean {
  if (json["pre_tokenizer"] != null) return false;
  const model = json["model"] as Record<string, unknown> | undefined;
  if (model?.["type"] !== "BPE") return false;
  if (model["dropout"] != null && model["dropout"] !== 0) return false;
  if (model["continuing_subword_prefix"] || model["end_of_word_suffix"]) return false;
  if (!JSON.stringify(json["normalizer"] ?? null).includes(METASPACE)) return false;
  const vocab = model["vocab"] as Record<string, number> | undefined;
  if (!vocab || !Object.hasOwn(vocab, METASPACE)) return false;
  const crossesBoundary = (piece: string) => /[^\u2581]\u2581/u.test(piece);
  if (Object.keys(vocab).some(crossesBoundary)) return false;
  const merges = (model["merges"] ?? []) as (string | [string, string])[];
  return !merges.some((m) => crossesBoundary(Array.isArray(m) ? m.join("") : m.replace(" ", "")));
}

export function loadTokenizer(dir: string, opts: { metaspaceSplit?: boolean } = {}): TextTokenizer {
  const path = join(dir, "tokenizer.json");
  if (!existsSync(path)) throw new UserError("invalid_checkpoint", `no tokenizer.json in ${dir}`);
  const bytes = readFileSync(path);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new UserError("invalid_checkpoint", `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const configPath = join(dir, "tokenizer_config.json");
  const config = existsSync(configPath)
    ? (JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>)
    : {};
  if ((opts.metaspaceSplit ?? true) && metaspaceSplitIsSafe(json))
    json = { ...json, pre_tokenizer: METASPACE_SPLIT };
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new UserError("invalid_checkpoint", `cannot load ${path}: ${(e as Error).message}`);
  }
  const idOf = (v: unknown): number | undefined => {
    const content = typeof v === "string" ? v : (v as { content?: unknown } | null)?.content;
    return typeof content === "string" ? tok.token_to_id(content) : undefined;
  };
  return {
    encode: (text, o) => tok.encode(text, { add_special_tokens: o?.addSpecialTokens ?? true }).ids,
    decode: (ids) => tok.decode(ids, { clean_up_tokenization_spaces: false }),
    bosId: idOf(config["bos_token"]),
    eosId: idOf(config["eos_token"]),
    hash: createHash("sha256").update(bytes).digest("hex"),
  };
}
