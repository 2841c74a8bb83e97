// Token ids of a loglikelihood request, as lm-evaluation-harness 3326c54 `BaseLM._encode_pair` builds them:
// trailing spaces of the context move to the continuation, then context+continuation and the context alone
// are encoded without special tokens and the whole is split at the context's length. An empty context
// becomes the end-of-text token. With the BOS policy "tokenizer" (lm-evaluation-harness 0.4.x `HFLM`, whose
// `tok_encode` keeps the tokenizer's special tokens) both are encoded with the tokenizer's special tokens, so
// a tokenizer that adds a BOS starts every context with it, and an empty context becomes the BOS (0.4.x's
// `prefix_token_id`), or the end-of-text token where there is none.
import { UserError } from "@shortened/contracts";
import type { ChoiceItem, TextRequest } from "./types.js";

/** The part of a tokenizer the split needs (`TextTokenizer` satisfies it). */
export interface RequestTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  readonly eosId?: number;
  readonly bosId?: number;
}

/** "none": no special tokens (the pinned harness); "tokenizer": the tokenizer's own (lm-evaluation-harness 0.4.x). */
export type ZeroShotBosPolicy = "none" | "tokenizer";

export interface TokenRequest {
  contextIds: number[];
  continuationIds: number[];
}

export function encodeRequest(
  tok: RequestTokenizer,
  req: TextRequest,
  bos: ZeroShotBosPolicy = "none",
): TokenRequest {
  const encode = (s: string) => tok.encode(s, { addSpecialTokens: bos === "tokenizer" });
  if (req.context === "") {
    const prefix = bos === "tokenizer" ? (tok.bosId ?? tok.eosId) : tok.eosId;
    if (prefix === undefined)
      throw new UserError(
        "bad_request",
        "an empty context needs an end-of-text token, and the tokenizer has none",
      );
    const continuation = tok.encode(req.continuation, { addSpecialTokens: false });
    return { contextIds: [prefix], continuationIds: continuation };
  }
  let { context, continuation } = req;
  const nSpaces = context.length - context.trimEnd().length;
  if (nSpaces > 0) {
    continuation = context.slice(context.length - nSpaces) + continuation;
    context = context.slice(0, context.length - nSpaces);
  }
  const whole = encode(context + continuation);
  const contextIds = encode(context);
  return { contextIds, continuationIds: whole.slice(contextIds.length) };
}

export interface EncodedItem {
  requests: TokenRequest[];
  gold: number;
  choiceChars: number[] | null;
}

export function encodeItem(
  tok: RequestTokenizer,
  item: ChoiceItem,
  bos: ZeroShotBosPolicy = "none",
): EncodedItem {
  return {
    requests: item.requests.map((r) => encodeRequest(tok, r, bos)),
    gold: item.gold,
    choiceChars: item.choiceChars,
  };
}
