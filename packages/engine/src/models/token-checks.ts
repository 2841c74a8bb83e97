// Checks on token ids before any compute (bad input is a UserError, never a runtime failure in ORT).
import { UserError } from "@shortened/contracts";

export function checkTokenIds(ids: ArrayLike<number>, vocabSize: number, where: string): void {
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new UserError(
        "invalid_data",
        `${where}: token id ${t} at position ${i} is outside the vocabulary [0, ${vocabSize})`,
      );
    }
  }
}

/** Rows of equal length ≥ minLen, every id in the vocabulary; returns them flattened row-major. */
export function checkRows(
  rows: unknown,
  vocabSize: number,
  where: string,
  minLen = 2,
): { flat: number[]; batch: number; seqLen: number } {
  if (!Array.isArray(rows) || rows.length === 0)
    throw new UserError("invalid_data", `${where}: expected a non-empty list of rows`);
  const seqLen = Array.isArray(rows[0]) ? rows[0].length : -1;
  const flat: number[] = [];
  rows.forEach((r, i) => {
    if (!Array.isArray(r))
      throw new UserError("invalid_data", `${where}: row ${i} is not a list of token ids`);
    if (r.length !== seqLen) {
      throw new UserError(
        "invalid_data",
        `${where}: rows have unequal lengths (row 0 has ${seqLen}, row ${i} has ${r.length})`,
      );
    }
    flat.push(...(r as number[]));
  });
  if (seqLen < minLen)
    throw new UserError("invalid_data", `${where}: rows have ${seqLen} tokens, fewer than ${minLen}`);
  checkTokenIds(flat, vocabSize, where);
  return { flat, batch: rows.length, seqLen };
}
