// Dashboard sessions over HTTP: signing in with an API key sets an HttpOnly, SameSite=Strict cookie that
// authenticates /v1 (reads, and writes with the X-CSRF-Token), Bearer keys keep working and win over a
// cookie, revoking or rotating the key ends its sessions at once, sign-out ends it on the server.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTeamsRig, type TeamsRig } from "./helpers/teams-app.js";

/** What POST /session answers: the session, or an error. */
type SessionAnswer = {
  role: string;
  team: { id: string };
  csrfToken: string;
  error: { code: string; message: string };
};

describe("dashboard sessions", { timeout: 60_000 }, () => {
  let rig: TeamsRig;
  before(async () => {
    rig = await startTeamsRig();
  });
  after(async () => rig?.close());

  const signIn = async (apiKey: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${rig.url}/session`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ apiKey }),
    });
    const body = (await res.json()) as SessionAnswer;
    const setCookie = res.headers.get("set-cookie") ?? "";
    return { status: res.status, body, setCookie, cookie: setCookie.split(";")[0] };
  };
  const withCookie = async (
    method: string,
    path: string,
    cookie: string,
    o: { csrf?: string; body?: unknown; bearer?: string } = {},
  ) => {
    const res = await fetch(rig.url + path, {
      method,
      headers: {
        cookie,
        ...(o.csrf ? { "x-csrf-token": o.csrf } : {}),
        ...(o.bearer ? { authorization: `Bearer ${o.bearer}` } : {}),
        ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  it("signs in with a key into an HttpOnly, SameSite=Strict cookie that is not the key", async () => {
    const s = await signIn(rig.a.member);
    assert.equal(s.status, 201);
    assert.match(
      s.setCookie,
      /^shortened_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    assert.ok(!s.setCookie.includes(rig.a.member));
    assert.equal(s.body.role, "member");
    assert.equal(s.body.team.id, rig.a.teamId);
    assert.ok(s.body.csrfToken.length >= 20);
    const who = await withCookie("GET", "/session", s.cookie);
    assert.deepEqual(who.body, s.body);
    // Only the token's hash is stored.
    const stored = await rig.db.prisma.webSession.findMany();
    assert.ok(stored.every((x) => !s.cookie.includes(x.tokenHash)));
  });

  it("refuses bad keys, revoked keys and a sign-in started by another site", async () => {
    assert.equal((await signIn("sk_nope")).status, 401);
    assert.equal((await signIn(rig.a.revoked)).status, 401);
    assert.equal((await signIn(rig.a.admin, { origin: "http://evil.example" })).status, 403);
    assert.equal((await signIn(rig.a.admin, { origin: rig.url })).status, 201);
    assert.equal((await fetch(`${rig.url}/session`)).status, 401);
  });

  it("reads with the cookie; writes only with the CSRF token", async () => {
    const s = await signIn(rig.a.admin);
    assert.equal((await withCookie("GET", "/v1/jobs", s.cookie)).status, 200);
    const spec = { kind: "evaluate", model: "tiny" };
    const noToken = await withCookie("POST", "/v1/jobs", s.cookie, { body: spec });
    assert.equal(noToken.status, 403);
    assert.match(noToken.body.error.message, /X-CSRF-Token/);
    const wrong = await withCookie("POST", "/v1/jobs", s.cookie, { body: spec, csrf: "x" });
    assert.equal(wrong.status, 403);
    const ok = await withCookie("POST", "/v1/jobs", s.cookie, { body: spec, csrf: s.body.csrfToken });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    // The session acts as its key: the audit trail names it, admin routes follow its role.
    const audit = await rig.db.prisma.auditEvent.findFirst({ where: { targetId: ok.body.id } });
    const key = await rig.db.prisma.apiKey.findUniqueOrThrow({ where: { id: audit!.actorKeyId! } });
    assert.equal(key.teamId, rig.a.teamId);
    const member = await signIn(rig.a.member);
    assert.equal((await withCookie("GET", "/v1/audit", member.cookie)).status, 403);
  });

  it("lets a Bearer key win over a cookie, and keeps Bearer keys working", async () => {
    const s = await signIn(rig.a.admin);
    const asB = await withCookie("GET", "/v1/team", s.cookie, { bearer: rig.b.admin });
    assert.equal(asB.body.id, rig.b.teamId);
    assert.equal((await rig.call("GET", "/v1/team", { key: rig.a.admin })).status, 200);
  });

  it("ends a key's sessions when the key is rotated (even in its grace period) or revoked", async () => {
    const made = await rig.call("POST", "/v1/keys", {
      key: rig.a.admin,
      body: { name: "laptop", role: "member" },
    });
    assert.equal(made.status, 201);
    assert.equal(made.body.role, "member");
    const s = await signIn(made.body.apiKey);
    assert.equal((await withCookie("GET", "/v1/jobs", s.cookie)).status, 200);
    const rotated = await rig.call("POST", `/v1/keys/${made.body.id}/rotate`, {
      key: rig.a.admin,
      body: { graceSeconds: 3600 },
    });
    assert.equal(rotated.status, 201);
    const ended = await withCookie("GET", "/v1/jobs", s.cookie);
    assert.equal(ended.status, 401);
    assert.match(ended.body.error.message, /sign in again/);
    // The old key itself still works for scripts during the grace period, but opens no new session.
    assert.equal((await rig.call("GET", "/v1/jobs", { key: made.body.apiKey })).status, 200);
    const again = await signIn(made.body.apiKey);
    assert.equal(again.status, 401);
    assert.match(again.body.error.message, /rotated/);
    // Revocation: the replacement's session ends when it is revoked.
    const s2 = await signIn(rotated.body.apiKey);
    assert.equal((await withCookie("GET", "/v1/jobs", s2.cookie)).status, 200);
    await rig.call("DELETE", `/v1/keys/${rotated.body.id}`, { key: rig.a.admin });
    assert.equal((await withCookie("GET", "/v1/jobs", s2.cookie)).status, 401);
  });

  it("signs out on the server: the cookie stops working and is cleared", async () => {
    const s = await signIn(rig.a.admin);
    assert.equal(
      (await withCookie("DELETE", "/session", s.cookie)).status,
      403,
      "sign-out needs the CSRF token",
    );
    const res = await fetch(`${rig.url}/session`, {
      method: "DELETE",
      headers: { cookie: s.cookie, "x-csrf-token": s.body.csrfToken },
    });
    assert.equal(res.status, 204);
    assert.match(res.headers.get("set-cookie") ?? "", /shortened_session=; .*Max-Age=0/);
    assert.equal((await withCookie("GET", "/v1/jobs", s.cookie)).status, 401);
    assert.equal((await withCookie("GET", "/session", s.cookie)).status, 401);
  });

  it("follows a job's stream with the cookie (what EventSource sends)", async () => {
    const s = await signIn(rig.a.admin);
    const job = await rig.call("POST", "/v1/jobs", {
      key: rig.a.admin,
      body: { kind: "evaluate", model: "tiny" },
    });
    const ctl = new AbortController();
    const res = await fetch(`${rig.url}/v1/jobs/${job.body.id}/stream`, {
      headers: { cookie: s.cookie },
      signal: ctl.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    ctl.abort();
  });
});
