// `shortened merge --model DIR --adapter DIR --out DIR`: folds a PEFT LoRA adapter into its base model
// (W + alpha/r · B·A) and writes a Hugging Face checkpoint.
import { UserError } from "@shortened/contracts";
import { mergeLora } from "@shortened/engine";
import { Command } from "commander";
import { runCommand } from "../output.js";

interface MergeFlags {
  model: string;
  adapter: string;
  out: string;
  alpha?: string;
  force?: boolean;
  json?: boolean;
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
        () => {
          const alpha = f.alpha === undefined ? undefined : Number(f.alpha);
          if (alpha !== undefined && !(alpha > 0))
            throw new UserError("bad_request", `--alpha must be positive (got "${f.alpha}")`);
          return mergeLora({ model: f.model, adapter: f.adapter, out: f.out, force: f.force, alpha });
        },
        (r) => `merged ${r.modules} LoRA modules (r ${r.r}, alpha ${r.alpha}) into ${r.out}`,
      );
    });
}

export function register(program: Command): void {
  program.addCommand(mergeCommand());
}
