// Reads a task file of one JSON object per line, validating each line, so a malformed line is reported
// with its file and line number before any compute starts.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { UserError } from "@shortened/contracts";
import type { z } from "zod";

export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new UserError("not_found", `${what} not found: ${path}`, 404);
  }
}

/** Non-blank lines of a text file with their 1-based line numbers. */
export function nonBlankLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.replace(/\r$/, "");
    if (t.trim() !== "") out.push({ line: i + 1, text: t });
  }
  return out;
}

/** Parses up to `limit` records (all when undefined), in file order. */
export function readJsonl<S extends z.ZodType>(path: string, schema: S, limit?: number): z.infer<S>[] {
  const lines = nonBlankLines(readTextFile(path, "task file"));
  const take = limit === undefined ? lines : lines.slice(0, limit);
  return take.map(({ line, text }) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new UserError("invalid_data", `${basename(path)} line ${line}: not valid JSON`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length ? ` at ${issue.path.join(".")}` : "";
      throw new UserError("invalid_data", `${basename(path)} line ${line}: ${issue.message}${where}`);
    }
    return parsed.data;
  });
}
