// Usage errors (unknown option, missing argument or command) exit 2 with one line on stderr, in every
// command. Commands added with addCommand() do not inherit the program's settings, so each one gets them.
import type { Command } from "commander";

export function usageErrorsExitTwo(
  cmd: Command,
  writeErr: (text: string) => void = (text) => process.stderr.write(text),
): void {
  cmd
    .exitOverride()
    .showHelpAfterError(false)
    .showSuggestionAfterError(true)
    .configureOutput({
      writeErr,
      // commander's suggestion ("(Did you mean --blocks?)") comes on a second line: keep one line.
      outputError: (text, write) => write(`${text.replace(/\s*\n\s*/g, " ").trim()}\n`),
    });
  if (cmd.parent && cmd.commands.length > 0 && !hasAction(cmd)) {
    // A command that only groups others: without one of them, say which exist (instead of the whole help;
    // `shortened` alone still prints it).
    cmd.action(() => {
      const names = cmd.commands.map((c) => c.name()).filter((n) => n !== "help");
      cmd.error(`error: ${cmd.name()} needs a command: ${names.join(" | ")}`, {
        code: "commander.missingCommand",
        exitCode: 2,
      });
    });
  }
  for (const sub of cmd.commands) usageErrorsExitTwo(sub, writeErr);
}

function hasAction(cmd: Command): boolean {
  return (cmd as unknown as { _actionHandler: unknown })._actionHandler != null;
}
