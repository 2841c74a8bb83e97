// Model sources tenancy on a real S3 API (s3rver on loopback): a team registers by s3:// URI only from the
// sources its admin allowed or the operator allows for everyone, never from another team's part of the
// artifact store; no answer shows an internal storage prefix; a URI registered once is refused again with
// the right reason; refusals store nothing.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTeam, type OpenedDb, openPostgres, type S3Store } from "@shortened/adapters";
import { buildApp } from "@shortened/api";
import { registerFromFolder } from "@shortened/jobs";
import type { FastifyInstance } from "fastify";
import { createTestDatabase, runId, s3rverStore, startS3 } from "./helpers/service.js";
import { demoDir } from "./helpers/teams-app.js";

describe("model sources: registration by URI within the team's allowed sources", { timeout: 120_000 }, () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: OpenedDb;
  let app: FastifyInstance;
  let store: S3Store;
  const bucket = `store-${runId()}`;
  let a = { teamId: "", key: "" };
  let b = { teamId: "", key: "" };
  let privateUri = "";

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
    s3 = await startS3();
    database = await createTestDatabase();
    db = await openPostgres(database.url);
    store = s3rverStore(s3.endpoint, bucket);
    await store.ensureBucket();
    for (const ext of ["ext-models", "public-models"]) {
      const other = s3rverStore(s3.endpoint, ext);
      await other.ensureBucket();
      for (const f of readdirSync(demoDir)) await other.putFile(`llama/${f}`, join(demoDir, f));
    }
    app = await buildApp({
      db: db.prisma,
      store,
      dispatcher: { dispatch: async () => {}, cancel: async () => {} },
      readiness: {},
      uploadLimitBytes: 1 << 20,
      bodyLimitBytes: 1 << 20,
      urlExpirySeconds: 60,
      modelSources: ["s3://public-models/"],
      teams: { rateLimit: false, webhooks: false },
    });
    const ta = await createTeam(db.prisma, `a-${runId()}`);
    const tb = await createTeam(db.prisma, `b-${runId()}`);
    a = { teamId: ta.teamId, key: ta.apiKey };
    b = { teamId: tb.teamId, key: tb.apiKey };
    // Team A's private checkpoint, uploaded into the artifact store.
    const reg = await registerFromFolder(db.prisma, store, {
      teamId: a.teamId,
      name: "private",
      dir: demoDir,
      sourceUri: "upload",
    });
    privateUri = `s3://${bucket}/${reg.version.storagePrefix}`;
  });
  after(async () => {
    await app?.close();
    await db?.close();
    await database?.drop();
    await s3?.close();
  });

  it("refuses another team's part of the artifact store and unlisted buckets, storing nothing", async () => {
    const models = await db.prisma.model.count();
    for (const uri of [
      privateUri,
      `s3://${bucket}/teams/${a.teamId}/`,
      `s3://${bucket}/`,
      "s3://ext-models/llama/",
      "s3://ext-models/llama/../llama/",
    ]) {
      const r = await call("POST", "/v1/models", b.key, { name: "stolen", uri });
      assert.ok([400, 422].includes(r.status), `${uri} -> ${r.status} ${r.text}`);
      assert.ok(r.body.error.message.length > 0);
    }
    assert.equal(await db.prisma.model.count(), models);
  });

  it("registers from a source an admin allowed, and from the operator's list; shows no storage prefix", async () => {
    assert.equal(
      (await call("POST", "/v1/models", b.key, { name: "ext", uri: "s3://ext-models/llama/" })).status,
      422,
    );
    const added = await call("POST", "/v1/team/model-sources", b.key, { uri: "s3://ext-models/" });
    assert.equal(added.status, 201, added.text);
    assert.equal(added.body.uri, "s3://ext-models/");
    const again = await call("POST", "/v1/team/model-sources", b.key, { uri: "s3://ext-models" });
    assert.equal(again.status, 409);
    const own = await call("POST", "/v1/team/model-sources", b.key, {
      uri: `s3://${bucket}/teams/${a.teamId}/`,
    });
    assert.equal(own.status, 422, "the artifact store is never a source");
    const listed = await call("GET", "/v1/team/model-sources", b.key);
    assert.deepEqual(listed.body.operator, ["s3://public-models/"]);
    assert.equal(listed.body.items.length, 1);

    const reg = await call("POST", "/v1/models", b.key, { name: "ext", uri: "s3://ext-models/llama/" });
    assert.equal(reg.status, 201, reg.text);
    assert.ok(!reg.text.includes("storagePrefix"), reg.text);
    for (const path of [
      `/v1/models/ext`,
      `/v1/models/ext/versions`,
      `/v1/versions/${reg.body.latestVersion.id}`,
    ]) {
      const r = await call("GET", path, b.key);
      assert.equal(r.status, 200);
      assert.ok(!r.text.includes("storagePrefix"), `${path}: ${r.text}`);
    }
    // Team A did not allow ext-models; the operator's list is open to every team.
    assert.equal(
      (await call("POST", "/v1/models", a.key, { name: "ext", uri: "s3://ext-models/llama/" })).status,
      422,
    );
    const pub = await call("POST", "/v1/models", a.key, { name: "pub", uri: "s3://public-models/llama/" });
    assert.equal(pub.status, 201, pub.text);
  });

  it("says a URI is already registered, not that the name exists", async () => {
    const r = await call("POST", "/v1/models", b.key, { name: "ext-again", uri: "s3://ext-models/llama" });
    assert.equal(r.status, 409, r.text);
    assert.match(r.body.error.message, /already registered as model "ext"/);
    const other = await call("POST", "/v1/models", a.key, { name: "pub2", uri: "s3://public-models/llama/" });
    assert.equal(other.status, 409);
    assert.match(other.body.error.message, /already registered as model "pub"/);
  });

  it("lets only admins change the list, and removes a source", async () => {
    const { createApiKey } = await import("@shortened/adapters");
    const member = await createApiKey(db.prisma, b.teamId, "m", "member");
    assert.equal(
      (await call("POST", "/v1/team/model-sources", member.apiKey, { uri: "s3://x-models/" })).status,
      403,
    );
    const id = (await call("GET", "/v1/team/model-sources", member.apiKey)).body.items[0].id;
    assert.equal((await call("DELETE", `/v1/team/model-sources/${id}`, a.key)).status, 404, "another team's");
    assert.equal((await call("DELETE", `/v1/team/model-sources/${id}`, b.key)).status, 200);
    assert.equal(
      (await call("POST", "/v1/models", b.key, { name: "ext3", uri: "s3://ext-models/llama/" })).status,
      422,
    );
  });
});
