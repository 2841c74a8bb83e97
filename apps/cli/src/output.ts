// How every command ends: with --json exactly one JSON object on stdout; otherwise a human summary.
// Bad input (UserError, or a commander usage error) exits 2 with one line on stderr; anything else
// is a bug or an environment failure and exits 1.
import { isUserError } from "@shortened/contracts";
import { withFlagNames } from "./flag-names.js";

export interface OutputOptions {
  json?: boolean;
}

export async function runCommand<T>(
  opts: OutputOptions,
  work: () => Promise<T>,
  human: (result: T) => string,
): Promise<void> {
  try {
    const result = await work();
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${human(result)}\n`);
  } catch (e) {
    failAndExit(e);
  }
}

export function failAndExit(e: unknown): never {
  if (isUserError(e)) {
    process.stderr.write(`error: ${oneLine(withFlagNames(e.message))}\n`);
    process.exit(2);
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`internal error: ${oneLine(err.message)}\n`);
  if (process.env.SHORTENED_DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}
