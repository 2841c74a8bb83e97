// Hub models over the REST API, against the loopback stand-in of the Hub (HF_ENDPOINT = 127.0.0.1): a team
// admin stores the Hub token as a write-only team secret and allows hf:// sources; a member registers
// hf://org/name@revision with the secret's name. Refusals answer 422/502 with the reason and store
// nothing; the token never appears in an answer, the audit trail or a log line. `models push --server` follows
// the push job to its end (the API listens on 127.0.0.1; the test is the worker).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import {
  createApiKey,
  createTeam,
  failJob,
  hubDepsFromEnv,
  LocalStore,
  type OpenedDb,
  openPostgres,
} from "@shortened/adapters";
import { HubStandIn } from "@shortened/adapters/test-support/hub-stand-in";
import { buildApp } from "@shortened/api";
import { isUserError } from "@shortened/contracts";
import { runJob } from "@shortened/jobs";
import type { FastifyInstance } from "fastify";
import { runCliAsync } from "./helpers/cli.js";
import { createTestDatabase, runId } from "./helpers/service.js";
import { demoDir } from "./helpers/teams-app.js";

const TOKEN = "hf_e2e-secret-token-4242";

describe("Hub models over the API (stand-in Hub)", { timeout: 300_000 }, () => {
  const hub = new HubStandIn();
  const logs: string[] = [];
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: OpenedDb;
  let app: FastifyInstance;
  let dir: string;
  let admin = "";
  let member = "";
  let commit = "";

  const call = async (method: string, url: string, key: string, body?: unknown) => {
    const r = await app.inject({
      method: method as "GET",
      url,
      headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
      payload: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.statusCode, body: r.json(), text: r.body };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "hub-e2e-"));
    const endpoint = await hub.start();
    hub.tokens.add(TOKEN);
    const files = Object.fromEntries(
      readdirSync(demoDir)
        .filter((f) => f !== "PROVENANCE.md")
        .map((f) => [f, readFileSync(join(demoDir, f))]),
    );
    commit = hub.addRepo("acme/tiny-private", files, { private: true, license: "llama2" });
    hub.addRepo("acme/tiny-flaky", files);
    database = await createTestDatabase();
    db = await openPostgres(database.url);
    const sink = new Writable({
      write(chunk, _e, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    app = await buildApp(
      {
        db: db.prisma,
        store: new LocalStore(join(dir, "store")),
        dispatcher: { dispatch: async () => {}, cancel: async () => {} },
        readiness: {},
        uploadLimitBytes: 1 << 20,
        bodyLimitBytes: 1 << 20,
        urlExpirySeconds: 60,
        teams: { rateLimit: false, webhooks: false },
        hub: hubDepsFromEnv({
          HF_ENDPOINT: endpoint,
          HF_CACHE_DIR: join(dir, "hub"),
          SECRETS_KEY: "ab".repeat(32),
        }),
      },
      { logger: { level: "trace", stream: sink } as never },
    );
    const team = await createTeam(db.prisma, `hub-${runId()}`);
    admin = team.apiKey;
    member = (await createApiKey(db.prisma, team.teamId, "m", "member")).apiKey;
  });
  after(async () => {
    await app?.close();
    await db?.close();
    await database?.drop();
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers a private repo with the team's token secret, at its commit", async () => {
    const body = { name: "tiny", uri: "hf://acme/tiny-private@main", tokenSecret: "hf" };
    let r = await call("POST", "/v1/models", member, body);
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, "source_not_allowed");
    assert.equal((await call("POST", "/v1/team/model-sources", admin, { uri: "hf://acme" })).status, 201);
    r = await call("POST", "/v1/models", member, body);
    assert.equal(r.status, 422, r.text);
    assert.match(r.body.error.message, /no team secret "hf"/);
    assert.equal((await call("PUT", "/v1/team/secrets/hf", member, { value: TOKEN })).status, 403);
    const put = await call("PUT", "/v1/team/secrets/hf", admin, { value: "hf_wrong" });
    assert.equal(put.status, 200, put.text);
    r = await call("POST", "/v1/models", member, body);
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, "hub_unauthorized");
    assert.equal((await call("PUT", "/v1/team/secrets/hf", admin, { value: TOKEN })).status, 200);
    r = await call("POST", "/v1/models", member, body);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.sourceUri, `hf://acme/tiny-private@${commit}`);
    assert.equal(r.body.license, "llama2");
    assert.equal(r.body.latestVersion.recipe.hub.commit, commit);
    assert.equal(r.body.latestVersion.recipe.hub.tokenSecret, "hf");
    const list = await call("GET", "/v1/team/secrets", admin);
    assert.deepEqual(
      list.body.items.map((s: { name: string }) => s.name),
      ["hf"],
    );
    const arts = await call("GET", `/v1/versions/${r.body.latestVersion.id}/artifacts`, member);
    const weights = arts.body.items.find((a: { name: string }) => a.name === "model.safetensors");
    const url = await call("GET", `/v1/artifacts/${weights.id}/url`, member);
    assert.equal(url.body.url, `${hub.url}/acme/tiny-private/resolve/${commit}/model.safetensors`);
    const audit = await call("GET", "/v1/audit?limit=200", admin);
    assert.ok(audit.body.items.some((e: { action: string }) => e.action === "team_secret.set"));
    for (const text of [list.text, audit.text, r.text, ...logs])
      assert.ok(!text.includes(TOKEN), "the token leaks");
    const row = await db.prisma.teamSecret.findFirstOrThrow({ where: { name: "hf" } });
    assert.ok(
      !row.ciphertext.includes(TOKEN) && !row.ciphertext.includes(Buffer.from(TOKEN).toString("base64url")),
    );
  });

  it("a dropped download answers 502 and registers nothing; the retry resumes and succeeds", async () => {
    assert.equal(
      (await call("POST", "/v1/team/model-sources", admin, { uri: "hf://acme/tiny-flaky" })).status,
      201,
    );
    const before = await db.prisma.model.count();
    hub.truncateOnce.set("model.safetensors", 300_000);
    const body = { name: "flaky", uri: "hf://acme/tiny-flaky" };
    let r = await call("POST", "/v1/models", member, body);
    assert.equal(r.status, 502, r.text);
    assert.equal(r.body.error.code, "hub_unavailable");
    assert.match(r.body.error.message, /a retry resumes it/);
    assert.equal(await db.prisma.model.count(), before);
    r = await call("POST", "/v1/models", member, body);
    assert.equal(r.status, 201, r.text);
    const missing = await call("POST", "/v1/models", member, { name: "x", uri: "hf://acme/tiny-flaky@v2" });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.error.code, "hub_not_found");
  });

  it("a push is a job: admin only, refused at submission without the secret, run by a worker to a commit", async () => {
    const version = (await db.prisma.modelVersion.findFirstOrThrow({ where: { kind: "base" } })).id;
    const body = { repo: "acme/tiny-pushed", tokenSecret: "hf" };
    const url = `/v1/versions/${version}/push`;
    assert.equal((await call("POST", url, member, body)).status, 403);
    const none = await call("POST", url, admin, { ...body, tokenSecret: "nope" });
    assert.equal(none.status, 422, none.text);
    assert.match(none.body.error.message, /no team secret "nope"/);
    // POST /v1/jobs does not take push jobs.
    const direct = await call("POST", "/v1/jobs", admin, { kind: "push", model: version, repo: "a/b" });
    assert.equal(direct.status, 400, direct.text);
    const r = await app.inject({
      method: "POST",
      url,
      headers: {
        authorization: `Bearer ${admin}`,
        "content-type": "application/json",
        "idempotency-key": "p1",
      },
      payload: JSON.stringify(body),
    });
    assert.equal(r.statusCode, 202, r.body);
    const job = r.json();
    assert.equal(job.kind, "push");
    assert.equal(job.state, "queued");
    assert.equal(r.headers.location, `/v1/jobs/${job.id}`);
    assert.deepEqual(job.spec, {
      kind: "push",
      model: version,
      repo: "acme/tiny-pushed",
      private: true,
      tokenSecret: "hf",
    });
    const again = await app.inject({
      method: "POST",
      url,
      headers: {
        authorization: `Bearer ${admin}`,
        "content-type": "application/json",
        "idempotency-key": "p1",
      },
      payload: JSON.stringify(body),
    });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().id, job.id);
    // A worker runs it.
    const hubDeps = hubDepsFromEnv({
      HF_ENDPOINT: hub.url,
      HF_CACHE_DIR: join(dir, "worker-hub"),
      SECRETS_KEY: "ab".repeat(32),
    });
    const out = await runJob(
      {
        db: db.prisma,
        store: new LocalStore(join(dir, "store")),
        cacheDir: join(dir, "worker"),
        hub: hubDeps,
      },
      job.id,
    );
    assert.equal(out.status, "succeeded");
    const done = await call("GET", `/v1/jobs/${job.id}`, admin);
    assert.equal(done.body.state, "succeeded", done.text);
    assert.equal(done.body.result.commit, hub.repo("acme/tiny-pushed").log.at(-1)!.commit);
    assert.equal(done.body.result.committed, true);
    assert.ok(hub.filesAt("acme/tiny-pushed").has("model.safetensors"));
    for (const text of [r.body, done.text, ...logs]) assert.ok(!text.includes(TOKEN), "the token leaks");
  });

  it("models push --server follows the job while it waits and runs: exit 0 with the commit; a refused push exits 2 with the reason", async () => {
    const version = (await db.prisma.modelVersion.findFirstOrThrow({ where: { kind: "base" } })).id;
    const server = await app.listen({ host: "127.0.0.1", port: 0 });
    assert.equal((await call("PUT", "/v1/team/secrets/revoked", admin, { value: "hf_revoked" })).status, 200);
    const push = (repo: string, secret: string) =>
      runCliAsync(
        ["models", "push", version, "--repo", repo, "--token-secret", secret, "--server", server, "--json"],
        { SHORTENED_API_KEY: admin },
      );
    /** The push job the CLI started, once the API has it, and how often the CLI has asked for it since. */
    const started = async (repo: string) => {
      for (;;) {
        const jobs = await db.prisma.job.findMany({ where: { kind: "push" } });
        const job = jobs.find((j) => (j.spec as { repo?: string }).repo === repo);
        if (job)
          return { id: job.id, polls: () => logs.filter((l) => l.includes(`/v1/jobs/${job.id}"`)).length };
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // A worker's part: run the attempt, and record a failure the way apps/worker does.
    const worker = async (jobId: string) => {
      const store = new LocalStore(join(dir, "store"));
      const hubDeps = hubDepsFromEnv({
        HF_ENDPOINT: hub.url,
        HF_CACHE_DIR: join(dir, "worker-hub"),
        SECRETS_KEY: "ab".repeat(32),
      });
      try {
        await runJob({ db: db.prisma, store, cacheDir: join(dir, "worker"), hub: hubDeps }, jobId);
      } catch (e) {
        const code = isUserError(e) ? (e as { code: string }).code : "internal";
        await failJob(db.prisma, jobId, (e as Error).message, code);
      }
    };

    const ok = push("acme/tiny-cli", "hf");
    const job = await started("acme/tiny-cli");
    // Queued (no worker yet): the CLI keeps asking instead of returning the queued job.
    while (job.polls() < 2) await new Promise((r) => setTimeout(r, 200));
    await worker(job.id);
    const r = await ok;
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.id, job.id);
    assert.equal(out.state, "succeeded");
    assert.equal(out.result.committed, true);
    assert.equal(out.result.commit, hub.repo("acme/tiny-cli").log.at(-1)!.commit);

    // The Hub refuses the secret's token when the worker pushes: the CLI ends with the job's reason, exit 2.
    const refused = push("acme/tiny-refused", "revoked");
    await worker((await started("acme/tiny-refused")).id);
    const bad = await refused;
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr.trim(), /^[^\n]*push job \S+ failed: .*token/);
    assert.throws(() => hub.repo("acme/tiny-refused"), /no repo/, "nothing was pushed");
  });
});
