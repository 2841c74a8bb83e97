// The security matrix, generated from the app's route table: every /v1 endpoint × {no key, bad key,
// revoked key, another team's key, a member key on an admin action} → 401/401/401/404/403, and nothing
// of team A leaks to team B through lists, lineage, events, artifacts or comparisons. Also: per-key rate
// limits, key rotation with a grace period, the audit trail, and no key or secret in any log line.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { buildApp, routeTable } from "@shortened/api";
import { pplProtocol, pruneTinyAsWorker, startTeamsRig, type TeamsRig } from "./helpers/teams-app.js";

interface Fixture {
  path: string;
  body?: unknown;
  /** The route answers in the caller's own team (a list or a create): B gets its own data, never A's. */
  own?: boolean;
}

describe("team isolation and roles", { timeout: 60_000 }, () => {
  let rig: TeamsRig;
  const logLines: string[] = [];
  const secrets: string[] = [];
  let fixtures: Record<string, Fixture> = {};
  let aIds: string[] = [];

  before(async () => {
    process.env.SECRETS_KEY ??= "11".repeat(32);
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    rig = await startTeamsRig({}, { level: "trace", stream: sink });
    const { a, model } = rig;
    secrets.push(a.admin, a.member, a.revoked, rig.b.admin, rig.b.member, rig.b.revoked);
    const pruned = await pruneTinyAsWorker(rig, a.admin, [
      { name: "ppl_wikitext2", value: 14.2, protocol: pplProtocol(128) },
      { name: "ppl_wikitext2", value: 12.0, protocol: pplProtocol(128), versionId: model.versionId },
    ]);
    const job = (await rig.call("GET", `/v1/jobs/${pruned.jobId}`, { key: a.admin })).body;
    const artifact = (await rig.call("GET", `/v1/jobs/${pruned.jobId}/artifacts`, { key: a.admin })).body
      .items[0];
    const keyId = (await rig.call("GET", "/v1/keys", { key: a.admin })).body.items[0].id;
    const hook = await rig.call("POST", "/v1/webhooks", {
      key: a.admin,
      body: { url: "http://127.0.0.1:9/hook" },
    });
    assert.equal(hook.status, 201);
    secrets.push(hook.body.secret);
    const source = await rig.call("POST", "/v1/team/model-sources", {
      key: a.admin,
      body: { uri: "s3://team-a-models/" },
    });
    assert.equal(source.status, 201, source.text);
    const token = "hf_team-a-token-0123456789";
    secrets.push(token);
    const secret = await rig.call("PUT", "/v1/team/secrets/hf", { key: a.admin, body: { value: token } });
    assert.equal(secret.status, 200, secret.text);
    assert.ok(!secret.text.includes(token), "the value is never answered");
    const rules = await rig.call("PUT", `/v1/models/${model.id}/aliases/prod/rules`, {
      key: a.admin,
      body: { rules: [] },
    });
    assert.equal(rules.status, 200, rules.text);
    aIds = [
      a.teamId,
      model.id,
      model.versionId,
      pruned.versionId!,
      pruned.jobId,
      artifact.id,
      hook.body.id,
      keyId,
    ];
    const v = pruned.versionId!;
    const m = model.id;
    fixtures = {
      "GET /v1/team": { path: "/v1/team", own: true },
      "GET /v1/keys": { path: "/v1/keys", own: true },
      "POST /v1/keys": { path: "/v1/keys", body: { name: "x" }, own: true },
      "DELETE /v1/keys/:id": { path: `/v1/keys/${keyId}` },
      "POST /v1/keys/:id/rotate": { path: `/v1/keys/${keyId}/rotate`, body: {} },
      "GET /v1/team/model-sources": { path: "/v1/team/model-sources", own: true },
      "POST /v1/team/model-sources": {
        path: "/v1/team/model-sources",
        body: { uri: "s3://b-models/" },
        own: true,
      },
      "DELETE /v1/team/model-sources/:id": { path: `/v1/team/model-sources/${source.body.id}` },
      "GET /v1/team/secrets": { path: "/v1/team/secrets", own: true },
      "PUT /v1/team/secrets/:name": { path: "/v1/team/secrets/hf-b", body: { value: "hf_b" }, own: true },
      "DELETE /v1/team/secrets/:name": { path: "/v1/team/secrets/hf" },
      "GET /v1/models": { path: "/v1/models", own: true },
      "POST /v1/models": { path: "/v1/models", body: { name: "m2", uri: "s3://bucket/x" }, own: true },
      "POST /v1/models/upload": { path: "/v1/models/upload?name=up", own: true },
      "GET /v1/models/:id": { path: `/v1/models/${m}` },
      "GET /v1/models/:id/versions": { path: `/v1/models/${m}/versions` },
      "GET /v1/models/:id/aliases": { path: `/v1/models/${m}/aliases` },
      "GET /v1/models/:id/aliases/:alias": { path: `/v1/models/${m}/aliases/prod` },
      "PUT /v1/models/:id/aliases/:alias": { path: `/v1/models/${m}/aliases/prod`, body: { version: v } },
      "PUT /v1/models/:id/aliases/:alias/rules": {
        path: `/v1/models/${m}/aliases/prod/rules`,
        body: { rules: [] },
      },
      "PUT /v1/models/:id/share": { path: `/v1/models/${m}/share` },
      "DELETE /v1/models/:id/share": { path: `/v1/models/${m}/share` },
      "GET /v1/shared/models": { path: "/v1/shared/models", own: true },
      "GET /v1/shared/models/:id": { path: `/v1/shared/models/${m}` },
      "GET /v1/shared/versions/:id/card": { path: `/v1/shared/versions/${v}/card` },
      "GET /v1/versions/:id": { path: `/v1/versions/${v}` },
      "GET /v1/versions/:id/lineage": { path: `/v1/versions/${v}/lineage` },
      "GET /v1/versions/:id/artifacts": { path: `/v1/versions/${v}/artifacts` },
      "GET /v1/versions/:id/metrics": { path: `/v1/versions/${v}/metrics` },
      "GET /v1/versions/:id/card": { path: `/v1/versions/${v}/card` },
      "POST /v1/versions/:id/push": {
        path: `/v1/versions/${v}/push`,
        body: { repo: "team-b/x", tokenSecret: "hf" },
      },
      "GET /v1/jobs": { path: "/v1/jobs", own: true },
      "POST /v1/jobs": { path: "/v1/jobs", body: { kind: "evaluate", model: v } },
      "GET /v1/jobs/:id": { path: `/v1/jobs/${job.id}` },
      "POST /v1/jobs/:id/cancel": { path: `/v1/jobs/${job.id}/cancel` },
      "POST /v1/jobs/:id/retry": { path: `/v1/jobs/${job.id}/retry` },
      "GET /v1/jobs/:id/events": { path: `/v1/jobs/${job.id}/events` },
      "GET /v1/jobs/:id/stream": { path: `/v1/jobs/${job.id}/stream` },
      "GET /v1/jobs/:id/artifacts": { path: `/v1/jobs/${job.id}/artifacts` },
      "GET /v1/jobs/:id/metrics": { path: `/v1/jobs/${job.id}/metrics` },
      "GET /v1/artifacts/:id": { path: `/v1/artifacts/${artifact.id}` },
      "GET /v1/artifacts/:id/url": { path: `/v1/artifacts/${artifact.id}/url` },
      "GET /v1/metrics": { path: `/v1/metrics?versionId=${v}`, own: true },
      "GET /v1/metrics/compare": { path: `/v1/metrics/compare?versions=${model.versionId},${v}` },
      "GET /v1/webhooks": { path: "/v1/webhooks", own: true },
      "POST /v1/webhooks": { path: "/v1/webhooks", body: { url: "http://127.0.0.1:9/b" }, own: true },
      "DELETE /v1/webhooks/:id": { path: `/v1/webhooks/${hook.body.id}` },
      "GET /v1/webhooks/:id/deliveries": { path: `/v1/webhooks/${hook.body.id}/deliveries` },
      "GET /v1/audit": { path: "/v1/audit", own: true },
    };
  });

  after(async () => rig?.close());

  const v1Routes = () => routeTable(rig.app).filter((r) => r.url.startsWith("/v1/"));
  const adminRoutes = () =>
    v1Routes()
      .filter((r) => r.role === "admin")
      .map((r) => `${r.method} ${r.url}`);
  const send = (method: string, f: Fixture, key?: string) =>
    rig.call(method, f.path, {
      key,
      body: f.body ?? (method === "GET" || method === "DELETE" ? undefined : {}),
    });

  it("has a fixture for every /v1 route, and every /v1 route says its role", (t) => {
    const names = v1Routes().map((r) => `${r.method} ${r.url}`);
    t.diagnostic(
      `isolation matrix: ${names.length} routes x {no key, bad key, revoked key, other team} + ${adminRoutes().length} admin routes x member key = ${names.length * 4 + adminRoutes().length} requests`,
    );
    assert.ok(names.length >= 40, `only ${names.length} routes`);
    assert.deepEqual(
      names.filter((n) => !fixtures[n]),
      [],
      "routes without a fixture: add one",
    );
    assert.deepEqual(
      Object.keys(fixtures).filter((n) => !names.includes(n)),
      [],
      "fixtures for missing routes",
    );
    assert.deepEqual(
      v1Routes().filter((r) => r.role !== "admin" && r.role !== "member"),
      [],
    );
    // The admin actions: keys, sharing, promotion rules, webhooks and the audit trail.
    assert.deepEqual(adminRoutes().sort(), [
      "DELETE /v1/keys/:id",
      "DELETE /v1/models/:id/share",
      "DELETE /v1/team/model-sources/:id",
      "DELETE /v1/team/secrets/:name",
      "DELETE /v1/webhooks/:id",
      "GET /v1/audit",
      "GET /v1/team/secrets",
      "GET /v1/webhooks",
      "GET /v1/webhooks/:id/deliveries",
      "POST /v1/keys",
      "POST /v1/keys/:id/rotate",
      "POST /v1/team/model-sources",
      "POST /v1/versions/:id/push",
      "POST /v1/webhooks",
      "PUT /v1/models/:id/aliases/:alias/rules",
      "PUT /v1/models/:id/share",
      "PUT /v1/team/secrets/:name",
    ]);
  });

  it("documents every /v1 route in the OpenAPI document", async () => {
    const doc = (await rig.call("GET", "/openapi.json")).body;
    const undocumented = v1Routes()
      .map((r) => ({ ...r, path: r.url.replace(/:(\w+)/g, "{$1}") }))
      .filter((r) => !doc.paths[r.path]?.[r.method.toLowerCase()])
      .map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(undocumented, []);
  });

  it("answers 401 with the error shape to no key, a bad key and a revoked key, on every route", async () => {
    for (const r of v1Routes()) {
      const f = fixtures[`${r.method} ${r.url}`];
      for (const [label, key] of [
        ["no key", undefined],
        ["bad key", "sk_not-a-real-key-0000000000000000000000000"],
        ["revoked key", rig.a.revoked],
      ] as const) {
        const res = await send(r.method, f, key);
        assert.equal(res.status, 401, `${label}: ${r.method} ${r.url} -> ${res.status} ${res.text}`);
        assert.equal(res.body.error.code, "unauthorized");
        if (key) assert.ok(!res.text.includes(key), "the key is not echoed");
      }
    }
  });

  it("answers 403 to a member key on every admin action, and changes nothing", async () => {
    const before = await rig.db.prisma.auditEvent.count();
    for (const name of adminRoutes()) {
      const [method] = name.split(" ");
      const res = await send(method, fixtures[name], rig.a.member);
      assert.equal(res.status, 403, `${name} -> ${res.status} ${res.text}`);
      assert.equal(res.body.error.code, "forbidden");
    }
    assert.equal(await rig.db.prisma.auditEvent.count(), before);
  });

  it("answers 404 to another team's key on every route naming A's objects; lists show only B's own", async () => {
    const jobsBefore = await rig.db.prisma.job.count({ where: { teamId: rig.a.teamId } });
    for (const r of v1Routes()) {
      const name = `${r.method} ${r.url}`;
      const f = fixtures[name];
      const res = await send(r.method, f, rig.b.admin);
      if (f.own) assert.ok(![401, 403, 404].includes(res.status), `${name} -> ${res.status} ${res.text}`);
      else assert.equal(res.status, 404, `${name} -> ${res.status} ${res.text}`);
      // A 404 may repeat the id the caller sent; anything else of A's is a leak.
      const asked = f.path + JSON.stringify(f.body ?? "");
      for (const id of aIds.filter((x) => !asked.includes(x)))
        assert.ok(!res.text.includes(id), `${name} leaks ${id}: ${res.text.slice(0, 300)}`);
    }
    // Nothing of A changed: no job submitted, the alias not moved, the webhook still there.
    assert.equal(await rig.db.prisma.job.count({ where: { teamId: rig.a.teamId } }), jobsBefore);
    const alias = await rig.call("GET", `/v1/models/${rig.model.id}/aliases/prod`, { key: rig.a.admin });
    assert.equal(alias.body.versionId, null);
    assert.equal((await rig.call("GET", "/v1/webhooks", { key: rig.a.admin })).body.items.length, 1);
  });

  it("rotates a key: the new one works at once, the old one until its grace period ends", async () => {
    const made = await rig.call("POST", "/v1/keys", { key: rig.a.admin, body: { name: "deploy" } });
    secrets.push(made.body.apiKey);
    const rotated = await rig.call("POST", `/v1/keys/${made.body.id}/rotate`, {
      key: rig.a.admin,
      body: { graceSeconds: 1 },
    });
    assert.equal(rotated.status, 201, rotated.text);
    secrets.push(rotated.body.apiKey);
    assert.equal(rotated.body.name, "deploy");
    assert.equal((await rig.call("GET", "/v1/team", { key: rotated.body.apiKey })).status, 200);
    assert.equal((await rig.call("GET", "/v1/team", { key: made.body.apiKey })).status, 200, "grace period");
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await rig.call("GET", "/v1/team", { key: made.body.apiKey })).status, 401);
    const now = await rig.call("POST", `/v1/keys/${rotated.body.id}/rotate`, { key: rig.a.admin, body: {} });
    secrets.push(now.body.apiKey);
    assert.equal((await rig.call("GET", "/v1/team", { key: rotated.body.apiKey })).status, 401);
    assert.equal((await rig.call("GET", "/v1/team", { key: now.body.apiKey })).status, 200);
  });

  it("keeps an audit trail of submit, cancel, share, alias moves and key changes, with no secrets", async () => {
    const submitted = await rig.call("POST", "/v1/jobs", {
      key: rig.a.member,
      body: { kind: "evaluate", model: "tiny" },
    });
    assert.equal(submitted.status, 201);
    assert.equal(
      (await rig.call("POST", `/v1/jobs/${submitted.body.id}/cancel`, { key: rig.a.member })).status,
      200,
    );
    assert.equal(
      (await rig.call("PUT", `/v1/models/${rig.model.id}/share`, { key: rig.a.admin })).status,
      200,
    );
    const moved = await rig.call("PUT", `/v1/models/tiny/aliases/@candidate`, {
      key: rig.a.member,
      body: { version: 1 },
    });
    assert.equal(moved.status, 200, moved.text);
    const audit = await rig.call("GET", "/v1/audit?limit=200", { key: rig.a.admin });
    const actions = audit.body.items.map((e: { action: string }) => e.action);
    for (const a of [
      "job.submit",
      "job.cancel",
      "model.share",
      "alias.move",
      "alias.rules",
      "key.create",
      "key.rotate",
      "webhook.create",
    ])
      assert.ok(actions.includes(a), `${a} missing from ${actions.join(",")}`);
    const submit = audit.body.items.find(
      (e: { action: string; targetId: string }) =>
        e.action === "job.submit" && e.targetId === submitted.body.id,
    );
    const memberKeyId = (await rig.call("GET", "/v1/keys", { key: rig.a.admin })).body.items.find(
      (k: { name: string }) => k.name === "ci",
    ).id;
    assert.equal(submit.actorKeyId, memberKeyId, "the member key submitted it");
    for (const s of secrets) assert.ok(!audit.text.includes(s), "no secret in the audit trail");
    // B's audit trail holds none of it.
    const other = await rig.call("GET", "/v1/audit", { key: rig.b.admin });
    assert.ok(!other.text.includes(submitted.body.id));
  });

  it("limits requests per key (429 with the error shape), independently for each key", async () => {
    const app = await buildApp({
      db: rig.db.prisma,
      store: rig.store,
      dispatcher: { dispatch: async () => {}, cancel: async () => {} },
      readiness: {},
      uploadLimitBytes: 1024,
      bodyLimitBytes: 1024,
      urlExpirySeconds: 60,
      teams: { rateLimit: { max: 3, windowMs: 60_000 }, webhooks: false },
    });
    try {
      const get = (key: string) =>
        app.inject({ method: "GET", url: "/v1/team", headers: { authorization: `Bearer ${key}` } });
      for (let i = 0; i < 3; i++) assert.equal((await get(rig.a.admin)).statusCode, 200);
      const limited = await get(rig.a.admin);
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().error.code, "rate_limited");
      assert.match(limited.json().error.message, /3 requests per 60 s/);
      assert.equal((await get(rig.a.member)).statusCode, 200, "another key has its own budget");
      assert.equal(
        (await app.inject({ method: "GET", url: "/healthz" })).statusCode,
        200,
        "no limit outside /v1",
      );
    } finally {
      await app.close();
    }
  });

  it("writes structured logs with team and job ids and never a key or a secret", () => {
    const all = logLines.join("");
    assert.ok(logLines.length > 50, `only ${logLines.length} log lines`);
    for (const s of secrets) assert.ok(!all.includes(s), "a key or secret appears in the logs");
    const parsed = logLines.map((l) => JSON.parse(l));
    assert.ok(
      parsed.some((l) => l.jobId && l.teamId === rig.a.teamId),
      "job routes log their job id",
    );
  });
});
