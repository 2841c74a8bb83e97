// Paths and comparison helpers for the golden fixtures made by scripts/fixtures/engine.sh (from the oracle).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isUserError } from "@shortened/contracts";

export const FIXTURES = fileURLToPath(new URL("../fixtures/engine/", import.meta.url));
export const DEMO_MODEL = fileURLToPath(new URL("../../../../models/tinystories-llama-8L", import.meta.url));
export const MODELS = [
  "llama-gqa",
  "llama-tied-bias",
  "qwen2-tied",
  "gemma",
  "mistral-window",
  "llama8",
] as const;

export const modelDir = (m: string) => `${FIXTURES}models/${m}`;

// biome-ignore lint/suspicious/noExplicitAny: oracle JSON
export function fixture(path: string): any {
  return JSON.parse(readFileSync(`${FIXTURES}${path}`, "utf8"));
}

export function assertRel(actual: number, expected: number, tol: number, what: string): void {
  const rel = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  assert.ok(
    rel <= tol,
    `${what}: ${actual} vs oracle ${expected} (relative error ${rel.toExponential(2)} > ${tol})`,
  );
}

export function assertAllRel(
  actual: readonly number[],
  expected: readonly number[],
  tol: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => {
    assertRel(a, expected[i]!, tol, `${what}[${i}]`);
  });
}

/** Asserts that `p` rejects with a UserError whose message matches `pattern`. */
export function rejectsWithUserError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  return assert.rejects(p, (e) => isUserError(e) && pattern.test((e as Error).message));
}
