// From generated ids back to text, the same way for `shortened generate` and the evaluate "generate" task.
import type { TextTokenizer } from "@shortened/hf";

/** The ids a generation stops at (the model's EOS ids and the tokenizer's) and the special ids (those and
 *  BOS) that decoded text leaves out. */
export function generationSpecialIds(
  modelEosIds: number[],
  tok: TextTokenizer,
): { eosIds: number[]; special: Set<number> } {
  const eosIds = tok.eosId !== undefined ? [...new Set([...modelEosIds, tok.eosId])] : modelEosIds;
  const special = new Set([...eosIds, ...(tok.bosId !== undefined ? [tok.bosId] : [])]);
  return { eosIds, special };
}

/** The text a row added: prompt and continuation decoded together (a SentencePiece decoder would otherwise
 *  drop the continuation's first space), special tokens left out. */
export function continuationText(
  tok: TextTokenizer,
  prompt: number[],
  added: number[],
  special: Set<number>,
): string {
  const plain = (t: number[]) => t.filter((id) => !special.has(id));
  const promptText = tok.decode(plain(prompt));
  const full = tok.decode(plain([...prompt, ...added]));
  return full.startsWith(promptText) ? full.slice(promptText.length) : tok.decode(plain(added));
}
