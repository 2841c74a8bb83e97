// --device, --threads, --dtype and --memory-budget: declared and read the same way by every command that computes.

import { computeDtypes } from "@shortened/contracts";
import type { AccuracyLevel } from "@shortened/engine";
import { type Command, Option } from "commander";
import { choiceFlag } from "./cli-numbers.js";

export const DEVICES = ["cpu", "cuda"] as const;

export function addRuntimeOptions(cmd: Command): Command {
  return cmd
    .option("--device <d>", "cpu | cuda", "cpu")
    .option("--threads <n>", "intra-op threads (default: all cores)");
}

/** --accuracy-level, on the commands that run a GPTQ checkpoint's linears with MatMulNBits. */
export function addAccuracyLevelOption(cmd: Command): Command {
  return cmd.option(
    "--accuracy-level <n>",
    "GPTQ checkpoints: MatMulNBits accuracy_level, 0 (exact against the dequantized weights) | 4 (int8 activations)",
    "0",
  );
}

export function accuracyLevelFlag(value: string | undefined): AccuracyLevel | undefined {
  const v = choiceFlag("--accuracy-level", value, ["0", "1", "2", "3", "4"] as const);
  return v === undefined ? undefined : (Number(v) as AccuracyLevel);
}

/** --dtype, on the commands that run a model (the job specs' `dtype`, the same list). */
export function addDtypeOption(cmd: Command): Command {
  return cmd.option(
    "--dtype <t>",
    "compute dtype: float32 | float16 (weight matrices and MatMuls in float16) | bfloat16 (--device cuda only)",
  );
}

export function dtypeFlag(value: string | undefined): (typeof computeDtypes)[number] | undefined {
  return choiceFlag("--dtype", value, computeDtypes);
}

/** --memory-budget, on the commands whose engine call plans its memory. */
export function addMemoryBudgetOption(cmd: Command): Command {
  return cmd.addOption(memoryBudgetOption());
}

export function memoryBudgetOption(): Option {
  return new Option(
    "--memory-budget <size>",
    "peak memory allowed, e.g. 4G, 2.5G, 2560M (default: $SHORTENED_MEMORY_BUDGET, else 75% of available)",
  );
}

/** Prints the execution plan on stderr before the work starts (human mode; --json carries it in the result). */
export function planPrinter(json: boolean | undefined): ((plan: { summary: string }) => void) | undefined {
  return json ? undefined : (plan) => process.stderr.write(`plan: ${plan.summary}\n`);
}

export function deviceFlag(value: string | undefined): (typeof DEVICES)[number] | undefined {
  return choiceFlag("--device", value, DEVICES);
}
