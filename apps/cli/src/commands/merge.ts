// `shortened merge --model DIR --adapter DIR|FILE --out DIR`: folds a PEFT LoRA adapter into its base model
// (W + alpha/r · B·A) and writes a Hugging Face checkpoint. It runs the merge job's handler on the folders.
import { UserError } from "@shortened/contracts";
import { checkOutputTarget } from "@shortened/hf";
import { publishFolder } from "@shortened/jobs";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { numberFlag } from "./cli-numbers.js";
import { withFolderRun } from "./folder-job.js";

interface MergeFlags {
  model: string;
  adapter: string;
  out: string;
  alpha?: string;
  force?: boolean;
  json?: boolean;
}

async function merge(f: MergeFlags) {
  const alpha = numberFlag("--alpha", f.alpha);
  if (alpha !== undefined && !(alpha > 0))
    throw new UserError("bad_request", `--alpha must be positive (got "${f.alpha}")`);
  const out = checkOutputTarget(f.out, f.force ?? false, [f.model]);
  return withFolderRun(
    { model: f.model, near: out, json: f.json, versions: { adapter: f.adapter } },
    async (run) => {
      const r = await run.run("merge", { adapter: "adapter", alpha });
      await publishFolder(r.version!.dir, out);
      const s = r.summary as { r: number; alpha: number; modules: number; dtype: string };
      return { out, r: s.r, alpha: s.alpha, modules: s.modules, dtype: s.dtype };
    },
  );
}

export function mergeCommand(): Command {
  return new Command("merge")
    .description("merge a LoRA adapter (PEFT layout) into its base model")
    .requiredOption("--model <dir>", "base model folder")
    .requiredOption(
      "--adapter <path>",
      "adapter folder (adapter_config.json + adapter_model.safetensors) or the .safetensors file",
    )
    .requiredOption("--out <dir>", "output folder for the merged checkpoint")
    .option("--alpha <a>", "LoRA alpha when the adapter has no adapter_config.json")
    .option("--force", "replace an existing --out")
    .option("--json", "print one JSON object")
    .action(async (f: MergeFlags) => {
      await runCommand(
        f,
        () => merge(f),
        (r) => `merged ${r.modules} LoRA modules (r ${r.r}, alpha ${r.alpha}) into ${r.out}`,
      );
    });
}

export function register(program: Command): void {
  program.addCommand(mergeCommand());
}
