// A team's own script, as a team would write it: types generated from the served document by the
// openapi-typescript CLI with its default options, calls through openapi-fetch. It must type-check without
// casts (defaulted request fields are optional), and wrong bodies must not (checked with @ts-expect-error).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { documentPath } from "../scripts/client.js";
import { repoRoot } from "./helpers/service.js";

const script = `import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8080", headers: { authorization: "Bearer sk_x" } });

export async function run(): Promise<string[]> {
  const generate = await api.POST("/v1/jobs", {
    body: { kind: "evaluate", model: "tiny", task: "generate", prompts: ["Once upon a time"] },
    headers: { "idempotency-key": "nightly-1" },
  });
  const ppl = await api.POST("/v1/jobs", { body: { kind: "evaluate", model: "tiny@prod" } });
  const pipeline = await api.POST("/v1/jobs", {
    body: { kind: "pipeline", model: "tiny", prune: { count: 2 }, retrain: { steps: 30 }, evaluate: [{ dataset: "ptb" }] },
  });
  await api.POST("/v1/jobs/{id}/cancel", { params: { path: { id: "j" } } });
  await api.POST("/v1/keys/{id}/rotate", { params: { path: { id: "k" } } });
  await api.PUT("/v1/models/{id}/aliases/{alias}", { params: { path: { id: "tiny", alias: "prod" } }, body: { version: 3 } });
  const page = await api.GET("/v1/jobs", { params: { query: { state: "running", limit: 20 } } });
  const compared = await api.GET("/v1/metrics/compare", { params: { query: { versions: "tiny@1,tiny@2" } } });
  const job: components["schemas"]["Job"] | undefined = generate.data;
  const states = (page.data?.items ?? []).map((j) => j.state);
  const cancelling: boolean | undefined = ppl.data?.cancelRequested;
  const rows = compared.data?.rows.map((r) => r.name) ?? [];
  const message: string | undefined = pipeline.error?.error.message;

  // @ts-expect-error a job needs a model
  await api.POST("/v1/jobs", { body: { kind: "evaluate", task: "generate", prompts: ["x"] } });
  // @ts-expect-error generate needs prompts
  await api.POST("/v1/jobs", { body: { kind: "evaluate", model: "tiny", task: "generate" } });
  // @ts-expect-error no such job kind
  await api.POST("/v1/jobs", { body: { kind: "explode", model: "tiny" } });
  // @ts-expect-error compare needs versions
  await api.GET("/v1/metrics/compare", { params: { query: {} } });
  return [job?.id ?? "", ...states, String(cancelling), ...rows, message ?? ""];
}
`;

describe("a team's script against the served document", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "team-script-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("type-checks with openapi-typescript's default options and openapi-fetch, without casts", () => {
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "script.ts"), script);
    const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
    // In the team's folder (in this repo, openapi-typescript would read our redocly.yaml).
    const gen = spawnSync(bin("openapi-typescript"), [documentPath, "-o", "schema.d.ts"], {
      cwd: dir,
      encoding: "utf8",
    });
    assert.equal(gen.status, 0, gen.stderr);
    const tsc = spawnSync(
      bin("tsc"),
      ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--skipLibCheck", "script.ts"],
      { cwd: dir, encoding: "utf8" },
    );
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });
});
