// Reading the job-spec JSON schemas of the OpenAPI document for the submit form: what a field is, its
// default, which union branch a value is on, and putting values in and out of a nested spec by path.

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  additionalProperties?: unknown;
}

export type Path = (string | number)[];

export type FieldKind =
  | "object"
  | "union"
  | "enum"
  | "boolean"
  | "integer"
  | "number"
  | "string"
  | "enum-list"
  | "number-list"
  | "object-list"
  | "json"
  | "const";

/** Follows a local $ref (#/$defs/x or #/components/schemas/x) against the document it came from. */
export function resolve(s: JsonSchema, root: Record<string, unknown>): JsonSchema {
  let cur = s;
  for (let i = 0; cur.$ref && i < 10; i++) {
    const parts = cur.$ref.replace(/^#\//, "").split("/");
    let node: unknown = root;
    for (const p of parts) node = (node as Record<string, unknown>)?.[p];
    cur = { ...(node as JsonSchema), ...(cur.description ? { description: cur.description } : {}) };
  }
  return cur;
}

/** A fixed value: `const`, or an enum of one value (how zod writes a literal). */
export const constOf = (s: JsonSchema | undefined): unknown =>
  s?.const !== undefined ? s.const : s?.enum?.length === 1 ? s.enum[0] : undefined;

export function fieldKind(s: JsonSchema): FieldKind {
  if (constOf(s) !== undefined) return "const";
  if (s.oneOf || s.anyOf) return "union";
  if (s.enum) return "enum";
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
  if (t === "object") return "object";
  if (t === "boolean") return "boolean";
  if (t === "integer") return "integer";
  if (t === "number") return "number";
  if (t === "string") return "string";
  if (t === "array") {
    const it = s.items ?? {};
    if (it.enum) return "enum-list";
    if (it.type === "integer" || it.type === "number") return "number-list";
    if (it.type === "object" || it.oneOf || it.anyOf || it.$ref) return "object-list";
    return "json";
  }
  return "json";
}

export const branchesOf = (s: JsonSchema): JsonSchema[] => s.oneOf ?? s.anyOf ?? [];

/** A branch's name: the value of its constant discriminator (e.g. task "zeroshot"), or its required field. */
export function branchName(b: JsonSchema, i: number): string {
  for (const [k, p] of Object.entries(b.properties ?? {}))
    if (p.const !== undefined) return `${k}: ${p.const}`;
  const req = b.required?.[0];
  return req ? req : b.type === "string" ? "text" : b.type === "integer" ? "number" : `option ${i + 1}`;
}

/** Which branch a value is on: the one whose constants match, else whose required fields it has. */
export function branchOf(s: JsonSchema, value: unknown): number {
  const bs = branchesOf(s);
  if (value === undefined) return 0;
  const v = value as Record<string, unknown>;
  const byConst = bs.findIndex((b) =>
    Object.entries(b.properties ?? {}).some(([k, p]) => constOf(p) !== undefined && v?.[k] === constOf(p)),
  );
  if (byConst >= 0) return byConst;
  const byRequired = bs.findIndex(
    (b) => typeof v === "object" && v !== null && (b.required ?? []).every((k) => k in v),
  );
  return Math.max(0, byRequired);
}

/** A branch's starting value: its constants set, nothing else (the API fills in defaults). */
export function branchSeed(b: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(b.properties ?? {})) if (constOf(p) !== undefined) out[k] = constOf(p);
  return out;
}

export function getAt(value: unknown, path: Path): unknown {
  let cur = value;
  for (const k of path) cur = (cur as Record<string | number, unknown> | undefined)?.[k];
  return cur;
}

/** A copy of `value` with `v` at `path` (undefined removes the key; containers are made as needed). */
export function setAt(value: unknown, path: Path, v: unknown): unknown {
  if (path.length === 0) return v;
  const [k, ...rest] = path;
  const container: Record<string | number, unknown> | unknown[] = Array.isArray(value)
    ? [...value]
    : typeof k === "number"
      ? []
      : { ...((value as Record<string, unknown>) ?? {}) };
  const next = setAt((container as Record<string | number, unknown>)[k], rest, v);
  if (next === undefined && !Array.isArray(container))
    delete (container as Record<string, unknown>)[k as string];
  else (container as Record<string | number, unknown>)[k] = next;
  return container;
}

/** The API's validation details ({path: ["retrain","lr"], message}) keyed by dotted path. */
export function errorsByPath(details: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(details)) return out;
  for (const d of details as { path?: unknown[]; message?: string }[]) {
    const key = (d.path ?? []).map(String).join(".");
    if (!out.has(key)) out.set(key, d.message ?? "invalid");
  }
  return out;
}

export const pathKey = (p: Path) => p.map(String).join(".");

export function defaultText(s: JsonSchema): string | undefined {
  if (s.default === undefined) return undefined;
  return typeof s.default === "object" ? JSON.stringify(s.default) : String(s.default);
}

/**
 * The schema of one job kind in the OpenAPI document: a branch of POST /v1/jobs's body (a kind with variants,
 * such as evaluate's tasks, is a union of its own), or the component `<Kind>Spec` of older documents.
 */
export function jobSpecSchema(doc: Record<string, unknown>, kind: string): JsonSchema | null {
  const body = getAt(doc, [
    "paths",
    "/v1/jobs",
    "post",
    "requestBody",
    "content",
    "application/json",
    "schema",
  ]);
  if (body) {
    const top = resolve(body as JsonSchema, doc);
    for (const b of branchesOf(top).map((x) => resolve(x, doc))) {
      const variants = branchesOf(b).map((x) => resolve(x, doc));
      if (constOf(b.properties?.kind) === kind) return b;
      if (variants.length && variants.every((v) => constOf(v.properties?.kind) === kind)) return b;
    }
  }
  const comp = getAt(doc, ["components", "schemas", `${kind[0].toUpperCase()}${kind.slice(1)}Spec`]);
  return comp ? resolve(comp as JsonSchema, doc) : null;
}
