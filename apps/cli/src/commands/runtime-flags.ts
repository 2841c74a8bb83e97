// --device and --threads: declared and read the same way by every command that computes.
import type { Command } from "commander";
import { choiceFlag } from "./cli-numbers.js";

export const DEVICES = ["cpu", "cuda"] as const;

export function addRuntimeOptions(cmd: Command): Command {
  return cmd
    .option("--device <d>", "cpu | cuda", "cpu")
    .option("--threads <n>", "intra-op threads (default: all cores)");
}

export function deviceFlag(value: string | undefined): (typeof DEVICES)[number] | undefined {
  return choiceFlag("--device", value, DEVICES);
}
