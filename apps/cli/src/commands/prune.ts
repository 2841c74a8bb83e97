// `shortened prune --model DIR --remove 3,7,9 --out DIR`: depth pruning surgery on a checkpoint.
// The command is built by `pruneCommand()` and does its surgery in `pruneWithProgress()`, so block
// selection by importance (--criterion/--blocks) can be added as options plus a step in `resolveRemoval`.
import { UserError } from "@shortened/contracts";
import { type PruneOptions, type PruneResult, pruneCheckpoint } from "@shortened/hf";
import { SingleBar } from "cli-progress";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { addImportanceFlags, type ImportanceFlags } from "./importance.js";
import { formatBytes } from "./inspect.js";
import { pruneByImportance } from "./prune-by-importance.js";

export interface PruneCliOptions extends Omit<ImportanceFlags, "criterion"> {
  criterion?: string;
  blocks?: string;
  model: string;
  out: string;
  remove?: string;
  force?: boolean;
  json?: boolean;
}

/** Copies below this size finish too fast for a progress bar to help. */
const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;

/** "3,7, 9" -> [3, 7, 9]; anything that is not a comma-separated list of integers is a UserError. */
export function parseBlockList(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^-?\d+$/.test(p))) {
    throw new UserError(
      "invalid_blocks",
      `--remove must be a comma-separated list of block indices (got "${text}")`,
    );
  }
  return parts.map(Number);
}

/** Which blocks to remove, from the options. */
export async function resolveRemoval(opts: PruneCliOptions): Promise<number[]> {
  if (opts.remove === undefined)
    throw new UserError("invalid_blocks", "give the blocks to remove with --remove 3,7,9");
  return parseBlockList(opts.remove);
}

/** The surgery, with a progress bar on stderr in human mode for long copies. */
export async function pruneWithProgress(
  args: Omit<PruneOptions, "onProgress">,
  json: boolean,
): Promise<PruneResult & { bytes: number }> {
  let bar: SingleBar | null = null;
  let bytes = 0;
  try {
    const result = await pruneCheckpoint({
      ...args,
      onProgress: (done, total) => {
        bytes = total;
        if (json || total < PROGRESS_MIN_BYTES) return;
        if (!bar) {
          bar = new SingleBar({
            format: "copying tensors [{bar}] {percentage}% | {doneMB}/{totalMB} MB | {eta}s left",
            stream: process.stderr,
            hideCursor: true,
          });
          bar.start(total, 0, { doneMB: 0, totalMB: Math.round(total / 1e6) });
        }
        bar.update(done, { doneMB: Math.round(done / 1e6) });
      },
    });
    return { ...result, bytes };
  } finally {
    (bar as SingleBar | null)?.stop();
  }
}

function human(r: PruneResult & { seconds: number; bytes: number }): string {
  const before = r.numHiddenLayers + r.removed.length;
  return [
    `removed blocks ${r.removed.join(", ")} of ${before}: ${r.numHiddenLayers} blocks left`,
    `wrote ${r.out} (${formatBytes(r.bytes)} of tensors in ${r.seconds.toFixed(1)} s)`,
    ...(r.warnings ?? []).map((w) => `warning: ${w}`),
  ].join("\n");
}

export function pruneCommand(): Command {
  const cmd = new Command("prune")
    .description("remove Transformer blocks from a checkpoint and write the result in the same layout")
    .requiredOption("--model <dir>", "model folder (config.json + safetensors)")
    .option("--remove <list>", "block indices to remove, comma-separated (e.g. 3,7,9)")
    .requiredOption("--out <dir>", "output folder (written to a temporary folder beside it, then renamed)")
    .option("--force", "replace --out if it exists")
    .option(
      "--criterion <c>",
      "pick the blocks by importance: ppl | magnitude | bi | angular | taylor | sleb (with --blocks)",
    )
    .option("--blocks <n>", 'with --criterion: how many blocks to remove (the first of the "+" order)');
  return addImportanceFlags(cmd)
    .option("--json", "print one JSON object")
    .action(async (opts: PruneCliOptions) => {
      await runCommand(
        opts,
        async () => {
          const started = performance.now();
          const result =
            opts.criterion !== undefined
              ? await pruneByImportance({ ...opts, criterion: opts.criterion })
              : await pruneWithProgress(
                  { model: opts.model, out: opts.out, force: opts.force, remove: await resolveRemoval(opts) },
                  opts.json ?? false,
                );
          return { ...result, seconds: (performance.now() - started) / 1000 };
        },
        human,
      );
    });
}

export function register(program: Command): void {
  program.addCommand(pruneCommand());
}
