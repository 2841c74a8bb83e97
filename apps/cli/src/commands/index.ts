// Every CLI command, in the order `shortened --help` lists them. Add a command by writing
// commands/<name>.ts with a `register(program)` function and listing it here.
import type { Command } from "commander";

type Register = (program: Command) => void;
const commands: Register[] = [];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
