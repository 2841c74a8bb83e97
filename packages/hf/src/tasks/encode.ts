// Token ids of a loglikelihood request, as lm-evaluation-harness 3326c54 `BaseLM._encode_pair` builds them:
// trailing spaces of the context move to the continuation, then context+continuation and the context alone
// are encoded without special tokens and the whole is split at the context's length. An empty context
// becomes the end-of-text token.
import { UserError } from "@shortened/contracts";
import type { ChoiceItem, TextRequest } from "./types.js";

/** The part of a tokenizer the split needs (`TextTokenizer` satisfies it). */
export interface RequestTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  readonly eosId?: number;
}

export interface TokenRequest {
  contextIds: number[];
  continuationIds: number[];
}

export function encodeRequest(tok: RequestTokenizer, req: TextRequest): TokenRequest {
  const encode = (s: string) => tok.encode(s, { addSpecialTokens: false });
  if (req.context === "") {
    if (tok.eosId === undefined)
      throw new UserError(
        "bad_request",
        "an empty context needs an end-of-text token, and the tokenizer has none",
      );
    return { contextIds: [tok.eosId], continuationIds: encode(req.continuation) };
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

export function encodeItem(tok: RequestTokenizer, item: ChoiceItem): EncodedItem {
  return {
    requests: item.requests.map((r) => encodeRequest(tok, r)),
    gold: item.gold,
    choiceChars: item.choiceChars,
  };
}
