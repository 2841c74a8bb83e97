// Every command, given bad usage, fails with a CommanderError (main.ts exits 2 on it) and one line.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands/index.js";
import { usageErrorsExitTwo } from "./usage-errors.js";

async function usage(args: string[]): Promise<{ error: unknown; stderr: string }> {
  let stderr = "";
  const program = new Command("shortened");
  registerCommands(program);
  usageErrorsExitTwo(program, (text) => {
    stderr += text;
  });
  try {
    await program.parseAsync(args, { from: "user" });
    return { error: null, stderr };
  } catch (error) {
    return { error, stderr };
  }
}

const cases: string[][] = [
  ["prune"],
  ["prune", "--model", "m", "--out", "x", "--bogus"],
  ["importance", "--model", "m"],
  ["retrain", "lora"],
  ["retrain", "lora", "--model", "m", "--out", "x", "--nope"],
  ["eval", "ppl"],
  ["eval", "zeroshot", "--model", "m", "--nope"],
  ["eval"],
  ["eval", "nope"],
  ["generate"],
  ["bench"],
  ["merge", "--model", "m"],
  ["prune-width"],
  ["inspect"],
  ["demo", "--nope"],
  ["models"],
  ["models", "list", "--nope"],
  ["jobs"],
  ["jobs", "submit"],
  ["admin"],
  ["admin", "create-team"],
  ["serve", "--nope"],
  ["worker", "--nope"],
  ["no-such-command"],
];

for (const args of cases) {
  test(`usage error: shortened ${args.join(" ")}`, async () => {
    const { error, stderr } = await usage(args);
    assert.ok(error instanceof CommanderError, `no usage error (${String(error)})`);
    assert.notEqual(error.exitCode, 0);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^error: /);
  });
}
