// The `shortened` command line. Each command lives in commands/<name>.ts and registers itself here.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands/index.js";
import { usageErrorsExitTwo } from "./usage-errors.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("shortened")
  .description("Depth pruning and retraining of LLaMA-family models (Shortened LLaMA)")
  .version(version, "-V, --version", "print the version")
  .showHelpAfterError(false);

registerCommands(program);
usageErrorsExitTwo(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version are not errors; everything else commander rejects is a usage error.
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0)
      process.exit(0);
    process.exit(2);
  }
  throw e;
}
