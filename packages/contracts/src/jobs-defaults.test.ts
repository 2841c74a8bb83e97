// A stored spec is complete (jobs.ts): a field left out gets the same value as the default given explicitly.
// zod 4 returns a `.default(v)` unparsed, so a default holding objects with defaults of their own would be
// stored without them; these tests hold every default of the contracts to being its own parse.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import * as contracts from "./index.js";
import { StudySpec } from "./jobs.js";

const study = { kind: "study", model: "m", criteria: ["ppl"], counts: [2] } as const;

test("a study's default evaluate and retrain steps are stored as the same steps given explicitly", () => {
  const implicit = StudySpec.parse(study);
  const explicit = StudySpec.parse({
    ...study,
    evaluate: [{ task: "ppl", dataset: "wikitext2" }],
    retrain: [{ method: "none" }],
  });
  assert.deepEqual(implicit.evaluate, explicit.evaluate);
  assert.deepEqual(implicit.evaluate[0], {
    task: "ppl",
    dataset: "wikitext2",
    seqLen: 128,
    bos: "first",
    batchSize: 8,
  });
  assert.deepEqual(implicit.retrain, explicit.retrain);
  assert.equal(implicit.retrain[0]?.steps, 100);
});

/** Every `.default(v)` reachable from a schema, with the path that leads to it. */
function defaults(schema: z.ZodType, path: string, seen: Set<unknown>, out: [string, z.ZodDefault][]) {
  if (seen.has(schema)) return out;
  seen.add(schema);
  const def = schema._zod.def as unknown as Record<string, unknown>;
  const walk = (s: unknown, p: string) => defaults(s as z.ZodType, p, seen, out);
  if (schema instanceof z.ZodDefault) out.push([path, schema]);
  if (schema instanceof z.ZodObject)
    for (const [k, v] of Object.entries(schema.shape)) walk(v, `${path}.${k}`);
  else if (schema instanceof z.ZodArray) walk(schema.element, `${path}[]`);
  else if (schema instanceof z.ZodUnion)
    for (const [i, o] of schema.options.entries()) walk(o, `${path}|${i}`);
  else if (schema instanceof z.ZodRecord) walk(schema.valueType, `${path}{}`);
  else if (schema instanceof z.ZodIntersection) {
    walk(def.left, path);
    walk(def.right, path);
  } else if (schema instanceof z.ZodPipe) {
    walk(def.in, path);
    walk(def.out, path);
  } else if (schema instanceof z.ZodLazy) walk(schema.unwrap(), path);
  else if (def.innerType) walk(def.innerType, path);
  return out;
}

test("every default of the contracts is its own parse (no nested default left out)", () => {
  const seen = new Set<unknown>();
  const found: [string, z.ZodDefault][] = [];
  for (const [name, value] of Object.entries(contracts))
    if (value instanceof z.ZodType) defaults(value, name, seen, found);
  // the walk reaches the nested defaults of the specs, the study's included
  assert.ok(found.length > 50, `${found.length} defaults found`);
  for (const [path, d] of found) {
    const value = d._zod.def.defaultValue;
    const parsed = z.safeParse(d.unwrap(), value);
    assert.ok(parsed.success, `${path}: its default ${JSON.stringify(value)} is refused by its own schema`);
    assert.deepEqual(value, parsed.data, `${path}: its default lacks the defaults of its own schema`);
  }
});
