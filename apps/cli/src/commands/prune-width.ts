// `shortened prune-width --model DIR --out DIR (--match-depth K | --keep-ratio R)`: the width-pruning baseline
// (attention head groups and MLP channels removed by magnitude, uniformly per block) at the parameter count
// of removing K blocks, for the depth-vs-width comparison of the efficiency benchmark.
import { UserError } from "@shortened/contracts";
import { readConfig, widthPrune } from "@shortened/hf";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { intFlag } from "./cli-numbers.js";

interface Flags {
  model: string;
  out: string;
  matchDepth?: string;
  keepRatio?: string;
  force?: boolean;
  json?: boolean;
}

export function pruneWidthCommand(): Command {
  return new Command("prune-width")
    .description(
      "width-pruning baseline: remove head groups and MLP channels by magnitude, uniformly per block",
    )
    .requiredOption("--model <dir>", "model folder")
    .requiredOption("--out <dir>", "output folder")
    .option("--match-depth <k>", "keep the parameter count of removing k blocks")
    .option("--keep-ratio <r>", "fraction of each block's parameters to keep")
    .option("--force", "replace --out if it exists")
    .option("--json", "print one JSON object")
    .action(async (f: Flags) => {
      await runCommand(
        f,
        async () => {
          if ((f.matchDepth === undefined) === (f.keepRatio === undefined))
            throw new UserError("bad_request", "give exactly one of --match-depth K or --keep-ratio R");
          let keepRatio = Number(f.keepRatio);
          if (f.matchDepth !== undefined) {
            const k = intFlag("--match-depth", f.matchDepth)!;
            const L = readConfig(f.model).numHiddenLayers;
            if (k < 1 || k >= L)
              throw new UserError("bad_request", `--match-depth must be between 1 and ${L - 1}`);
            keepRatio = (L - k) / L;
          }
          const { kept: _kept, ...summary } = await widthPrune({
            model: f.model,
            out: f.out,
            keepRatio,
            force: f.force,
          });
          return { ...summary, keepRatio };
        },
        (r) =>
          `wrote ${r.out}: ${r.numAttentionHeads} heads (${r.numKeyValueHeads} kv), intermediate ${r.intermediateSize} per block (kept ${(100 * r.keepRatio).toFixed(1)}% of block parameters)`,
      );
    });
}

export function register(program: Command): void {
  program.addCommand(pruneWidthCommand());
}
