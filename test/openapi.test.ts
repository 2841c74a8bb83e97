// The OpenAPI document the routes generate: the committed client (packages/client) equals what it generates
// now, `redocly lint` passes (redocly.yaml, kept problems justified in .redocly.lint-ignore.yaml), and every
// operation says who may call it and every error it can answer.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { committedClientFiles, documentPath, generateClientFiles } from "../scripts/client.js";
import { repoRoot } from "./helpers/service.js";

type Operation = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};

describe("the OpenAPI document", { timeout: 120_000 }, () => {
  // biome-ignore lint/suspicious/noExplicitAny: the document is read ad hoc
  let doc: any;
  let generated: { document: string; schema: string };
  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    );

  before(async () => {
    generated = await generateClientFiles();
    doc = JSON.parse(generated.document);
  });

  it("equals the committed client (run `npm run generate:client` after changing a route)", async () => {
    const committed = await committedClientFiles();
    assert.ok(committed.document === generated.document, "packages/client/openapi.json is stale");
    assert.ok(committed.schema === generated.schema, "packages/client/src/generated/schema.ts is stale");
  });

  it("passes redocly lint", () => {
    const r = spawnSync(
      join(repoRoot, "node_modules", ".bin", "redocly"),
      ["lint", "--config", "redocly.yaml", "--format", "json", documentPath],
      {
        cwd: repoRoot,
        encoding: "utf8",
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      },
    );
    const report = JSON.parse(r.stdout) as {
      totals: { errors: number; warnings: number; ignored: number };
      problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
    };
    const problems = report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    assert.deepEqual(problems, []);
    assert.equal(report.totals.errors, 0);
    assert.equal(report.totals.warnings, 0);
    assert.equal(r.status, 0, r.stderr);
  });

  it("names every operation, and gives the public ones no security and the others the Bearer key or the session", () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      assert.ok(op.operationId && !ids.has(op.operationId), `${method} ${path}: a unique operationId`);
      ids.add(op.operationId);
      assert.ok(op.summary && op.tags?.length, `${method} ${path}: summary and tags`);
      // /v1: a Bearer key or a dashboard session cookie; /session reads and ends the cookie's session.
      const security = path.startsWith("/v1/")
        ? [{ bearer: [] }, { session: [] }]
        : path === "/session" && method !== "post"
          ? [{ session: [] }]
          : [];
      assert.deepEqual(op.security, security, `${method} ${path}`);
    }
  });

  it("documents each error an operation can give, with the error shape", () => {
    for (const { path, method, op } of operations()) {
      const codes = Object.keys(op.responses);
      const want = [
        ...(path.startsWith("/v1/") ? ["401", "429"] : []),
        ...(["post", "put", "delete"].includes(method) ? ["400", "413", "415"] : []),
        ...(op.parameters?.length || op.requestBody ? ["400"] : []),
        ...(path.includes("{id}") ? ["404"] : []),
      ];
      for (const code of want) assert.ok(codes.includes(code), `${method} ${path} lacks ${code}`);
      for (const code of codes.filter((c) => c.startsWith("4")))
        assert.deepEqual(op.responses[code].content, {
          "application/json": { schema: { $ref: "#/components/schemas/Error" } },
        });
      const ok = Object.entries(op.responses).find(([c]) => c.startsWith("2"));
      assert.ok(ok, `${method} ${path}: a success answer`);
      if (ok[0] !== "204") assert.ok(ok[1].content, `${method} ${path}: the success answer's schema`);
    }
    const admin = doc.paths["/v1/keys/{id}/rotate"].post.responses;
    assert.ok(admin["403"] && admin["409"], "an admin action documents 403, rotation 409");
    assert.ok(doc.paths["/v1/jobs"].post.responses["422"], "an unavailable job kind is 422");
    assert.ok(doc.paths["/v1/metrics/compare"].get.responses["409"], "incomparable is 409");
  });

  it("has the fields and parameters clients need", () => {
    const schemas = doc.components.schemas;
    assert.ok(schemas.Job.required.includes("cancelRequested"));
    const upload = doc.paths["/v1/models/upload"].post as Operation;
    assert.deepEqual(
      upload.parameters?.map((p) => [p.name, p.required]),
      [
        ["name", true],
        ["description", false],
        ["license", false],
      ],
    );
    assert.deepEqual(Object.keys(upload.requestBody?.content ?? {}), [
      "application/x-tar",
      "multipart/form-data",
    ]);
    const compare = doc.paths["/v1/metrics/compare"].get as Operation;
    assert.ok(compare.parameters?.some((p) => p.name === "versions" && p.required));
    const card = doc.paths["/v1/versions/{id}/card"].get.responses["200"].content;
    assert.deepEqual(card["application/json"].schema, { $ref: "#/components/schemas/ModelCard" });
    assert.ok(card["text/markdown"]);
    // Bodies whose fields all have defaults may be left out.
    assert.equal(doc.paths["/v1/keys/{id}/rotate"].post.requestBody.required, false);
    assert.equal(doc.paths["/v1/jobs"].post.requestBody.required, true);
  });

  it("makes defaulted request fields optional and keeps request schemas inline", () => {
    const body = doc.paths["/v1/jobs"].post.requestBody.content["application/json"].schema;
    // The evaluate spec is itself a oneOf on its task.
    const evaluate = body.oneOf.find((s: { oneOf?: unknown }) => s.oneOf);
    const generate = evaluate.oneOf.find(
      (s: { properties: { task: { enum: string[] } } }) => s.properties.task.enum[0] === "generate",
    );
    assert.deepEqual(generate.required.sort(), ["kind", "model", "prompts", "task"]);
    assert.equal(generate.properties.maxNewTokens.default, 64, "defaults are shown");
    const refs = JSON.stringify(
      operations().map(({ op }) => [op.parameters ?? [], op.requestBody ?? {}]),
    ).match(/\$ref/g);
    assert.equal(refs, null, "no request schema refers to a component");
  });
});
