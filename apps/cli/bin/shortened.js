#!/usr/bin/env node
// Runs the built CLI (dist/) when it exists; otherwise runs the TypeScript sources through tsx,
// so `npx shortened` works right after `npm ci`, before any build. The tsx child gets the signals this
// process gets (stopping `shortened serve` stops the server) and this process exits as the child did.
// A run under a memory budget runs in a child with glibc's malloc thresholds fixed (./malloc-env.js).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cliMallocEnv } from "./malloc-env.js";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(appDir, "dist", "main.js");
const args = process.argv.slice(2);
const mallocEnv = cliMallocEnv(args, process.env);
if (existsSync(built) && !process.env.SHORTENED_FROM_SOURCE) {
  // the child sees the variables set, so it runs the CLI in its own process
  if (Object.keys(mallocEnv).length > 0) runChild([fileURLToPath(import.meta.url), ...args]);
  else await import(built);
} else {
  // tsx resolved from this file, not from the caller's folder: `shortened` run from anywhere finds it.
  const tsx = import.meta.resolve("tsx");
  runChild(["--conditions=development", "--import", tsx, join(appDir, "src", "main.ts"), ...args]);
}

function runChild(nodeArgs) {
  const child = spawn(process.execPath, nodeArgs, {
    stdio: "inherit",
    env: { ...process.env, ...mallocEnv },
  });
  const forward = (signal) => () => {
    // Ctrl-C on a terminal already reaches the child (same process group): sending it again would
    // turn a graceful stop into a second interrupt.
    if (signal === "SIGINT" && process.stdin.isTTY) return;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, forward(signal));
  child.on("error", (e) => {
    process.stderr.write(`internal error: cannot start the CLI: ${e.message}\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    // A child killed by a signal: exit the way a shell reports it (128 + the signal's number).
    const signals = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
    process.exit(code ?? 128 + (signals[signal] ?? 1));
  });
}
