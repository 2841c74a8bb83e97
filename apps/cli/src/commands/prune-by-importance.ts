// `prune --criterion C --blocks N`: the prune job's handler on the folder (its one block chooser): importance,
// then the first N blocks of the "+" order (or, for angular with --group n > 1, the best group of n contiguous
// blocks outside the kept ends). Every check runs before any compute; the pruned checkpoint moves to --out.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import { checkOutputTarget, type PruneResult } from "@shortened/hf";
import { publishFolder } from "@shortened/jobs";
import { intFlag } from "./cli-numbers.js";
import { withFolderRun } from "./folder-job.js";
import { type ImportanceFlags, importanceSpecFields } from "./importance.js";

export interface ByImportanceFlags extends ImportanceFlags {
  criterion: string;
  blocks?: string;
  out: string;
  force?: boolean;
}

export async function pruneByImportance(f: ByImportanceFlags): Promise<PruneResult & { bytes: number }> {
  const count = intFlag("--blocks", f.blocks);
  if (count === undefined)
    throw new UserError("invalid_blocks", "--criterion needs --blocks N (how many blocks to remove)");
  if (count < 1) throw new UserError("invalid_blocks", `--blocks must be at least 1 (got ${count})`);
  const out = checkOutputTarget(f.out, f.force ?? false, [f.model]);
  return withFolderRun({ model: f.model, near: out, json: f.json }, async (run) => {
    const r = await run.run("prune", { count, rule: "plus", ...(await importanceSpecFields(f, run)) });
    const summary = r.summary as Pick<PruneResult, "removed" | "kept" | "numHiddenLayers" | "warnings">;
    const bytes = tensorBytes(r.version!.dir);
    await publishFolder(r.version!.dir, out);
    return {
      removed: summary.removed,
      kept: summary.kept,
      numHiddenLayers: summary.numHiddenLayers,
      warnings: summary.warnings,
      out,
      criterion: f.criterion,
      bytes,
    };
  });
}

function tensorBytes(dir: string): number {
  return readdirSync(dir)
    .filter((n) => n.endsWith(".safetensors"))
    .reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
}
