// `prune --criterion C --blocks N`: importance, then the first N blocks of the "+" order (or, for angular
// with --group n > 1, the best group of n contiguous blocks outside the kept ends). Every check runs first.
import { UserError } from "@shortened/contracts";
import { isForwardCriterion, plusOrder } from "@shortened/engine";
import { Checkpoint, checkOutputTarget } from "@shortened/hf";
import { intFlag } from "./cli-numbers.js";
import { type ImportanceFlags, runImportance } from "./importance.js";

export interface ByImportanceFlags extends ImportanceFlags {
  criterion: string;
  blocks?: string;
  out: string;
  force?: boolean;
}

export async function removalByImportance(
  f: ByImportanceFlags,
): Promise<{ remove: number[]; criterion: string; scores: number[] }> {
  if (!isForwardCriterion(f.criterion)) {
    throw new UserError(
      "bad_request",
      `unknown criterion ${JSON.stringify(f.criterion)} (known: ppl, magnitude, bi, angular)`,
    );
  }
  const blocks = intFlag("--blocks", f.blocks);
  if (blocks === undefined)
    throw new UserError("invalid_blocks", "--criterion needs --blocks N (how many blocks to remove)");
  const L = Checkpoint.open(f.model).config.numHiddenLayers;
  const group = intFlag("--group", f.group) ?? 1;
  const keepFirst = intFlag("--keep-first", f.keepFirst) ?? 4;
  const keepLast = intFlag("--keep-last", f.keepLast) ?? 2;
  const candidates = plusOrder(
    Array.from({ length: L - group + 1 }, (_, i) => i),
    L,
    keepFirst,
    keepLast,
    group,
  ).length;
  if (group > 1 && blocks !== group) {
    throw new UserError(
      "invalid_blocks",
      `with --group ${group} the removal is one group: --blocks must be ${group}`,
    );
  }
  if (
    !Number.isInteger(blocks) ||
    blocks < 1 ||
    (group === 1 && blocks > candidates) ||
    (group > 1 && candidates === 0)
  ) {
    throw new UserError(
      "invalid_blocks",
      `--blocks ${blocks}: only ${candidates} of ${L} blocks may be removed (--keep-first ${keepFirst} --keep-last ${keepLast})`,
    );
  }
  checkOutputTarget(f.out, f.force ?? false, [f.model]);
  const r = await runImportance(f);
  const remove =
    group > 1 ? Array.from({ length: group }, (_, k) => r.orderPlus[0]! + k) : r.orderPlus.slice(0, blocks);
  return { remove, criterion: f.criterion, scores: r.scores };
}
