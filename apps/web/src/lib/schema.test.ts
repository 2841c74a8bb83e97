import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  branchOf,
  errorsByPath,
  fieldKind,
  type JsonSchema,
  jobSpecSchema,
  resolve,
  setAt,
} from "./schema.js";

describe("schema form helpers", () => {
  it("tells the field kinds of the job-spec schemas", () => {
    assert.equal(fieldKind({ type: "string", enum: ["a", "b"] }), "enum");
    assert.equal(fieldKind({ type: "string", enum: ["pipeline"] }), "const", "a literal is a one-value enum");
    assert.equal(fieldKind({ type: "array", items: { type: "string", enum: ["q_proj"] } }), "enum-list");
    assert.equal(fieldKind({ type: "array", items: { type: "integer" } }), "number-list");
    assert.equal(fieldKind({ type: "array", items: { oneOf: [] } }), "object-list");
    assert.equal(fieldKind({ type: "array", items: { type: "array" } }), "json");
    assert.equal(fieldKind({ const: "pipeline" }), "const");
    assert.equal(fieldKind({ type: ["integer", "null"] }), "integer");
  });
  it("puts values in and out of nested specs by path", () => {
    let v: unknown = { kind: "pipeline" };
    v = setAt(v, ["retrain", "lr"], 0.001);
    v = setAt(v, ["evaluate", 0, "task"], "ppl");
    assert.deepEqual(v, { kind: "pipeline", retrain: { lr: 0.001 }, evaluate: [{ task: "ppl" }] });
    v = setAt(v, ["retrain", "lr"], undefined);
    assert.deepEqual(v, { kind: "pipeline", retrain: {}, evaluate: [{ task: "ppl" }] });
  });
  it("finds a value's union branch by its constant, then by required fields", () => {
    const s: JsonSchema = {
      oneOf: [{ properties: { task: { const: "ppl" } } }, { properties: { task: { const: "zeroshot" } } }],
    };
    assert.equal(branchOf(s, { task: "zeroshot" }), 1);
    const data: JsonSchema = { anyOf: [{ required: ["dataset"] }, { required: ["artifact"] }] };
    assert.equal(branchOf(data, { artifact: "x" }), 1);
  });
  it("follows $refs and keys the API's errors by path", () => {
    const root = { $defs: { a: { type: "integer" } } };
    assert.equal(resolve({ $ref: "#/$defs/a" }, root).type, "integer");
    const e = errorsByPath([{ path: ["retrain", "lr"], message: "too big" }]);
    assert.equal(e.get("retrain.lr"), "too big");
  });
  it("finds a job kind's schema in POST /v1/jobs's body, a kind with variants as its own union", () => {
    const kind = (k: string) => ({ type: "string", enum: [k] });
    const doc = {
      paths: {
        "/v1/jobs": {
          post: {
            requestBody: {
              content: {
                "application/json": {
                  schema: {
                    oneOf: [
                      { type: "object", properties: { kind: kind("prune") } },
                      {
                        oneOf: [
                          { type: "object", properties: { kind: kind("evaluate"), task: kind("ppl") } },
                          { type: "object", properties: { kind: kind("evaluate"), task: kind("zeroshot") } },
                        ],
                      },
                    ],
                  },
                },
              },
            },
          },
        },
      },
    };
    assert.equal(jobSpecSchema(doc, "prune")?.properties?.kind.enum?.[0], "prune");
    assert.equal(jobSpecSchema(doc, "evaluate")?.oneOf?.length, 2);
    assert.equal(jobSpecSchema(doc, "benchmark"), null);
  });
});
