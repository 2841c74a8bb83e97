// Webhooks: job state changes POSTed to a loopback receiver, each verified against its HMAC signature
// with the secret shown at creation; failed deliveries retried with backoff until delivered, or given
// up after the last attempt; another team's webhook receives nothing of this team's jobs.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { endJob, startAttempt, verifyWebhookSignature } from "@shortened/adapters";
import { until } from "./helpers/service.js";
import { startTeamsRig, type TeamsRig } from "./helpers/teams-app.js";

interface Received {
  path: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

describe("webhooks: signed job state changes, retried with backoff", { timeout: 60_000 }, () => {
  let rig: TeamsRig;
  let server: Server;
  let base = "";
  const received: Received[] = [];
  /** path -> how many times each delivery to it is answered with 503 before a 204 */
  const failures = new Map<string, number>();

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push({ path: req.url!, body, headers: req.headers, at: Date.now() });
        const delivery = req.headers["shortened-delivery"];
        const tries = received.filter((r) => r.headers["shortened-delivery"] === delivery).length;
        const fail = tries <= (failures.get(req.url!) ?? 0) || req.url === "/always-down";
        res.writeHead(fail ? 503 : 204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    rig = await startTeamsRig({
      webhooks: { pollMs: 50, backoffMs: 150, maxAttempts: 4, timeoutMs: 2000 },
    });
  });
  after(async () => {
    await rig?.close();
    server?.close();
  });

  const create = async (key: string, path: string, states: string[] = []) => {
    const r = await rig.call("POST", "/v1/webhooks", { key, body: { url: base + path, states } });
    assert.equal(r.status, 201, r.text);
    assert.match(r.body.secret, /^whsec_/);
    const listed = await rig.call("GET", "/v1/webhooks", { key });
    assert.ok(!listed.text.includes(r.body.secret), "the secret is shown once, at creation");
    return r.body as { id: string; secret: string };
  };

  it("delivers each state change signed, retrying a failing receiver with growing delays", async () => {
    const hook = await create(rig.a.admin, "/a");
    await create(rig.b.admin, "/b");
    failures.set("/a", 2);
    const job = await rig.call("POST", "/v1/jobs", {
      key: rig.a.admin,
      body: { kind: "evaluate", model: "tiny" },
    });
    await startAttempt(rig.db.prisma, job.body.id);
    await endJob(rig.db.prisma, job.body.id, "failed", "boom", "internal");
    const states = () =>
      received
        .filter((r) => r.path === "/a")
        .map((r) => JSON.parse(r.body))
        .filter((p, i, all) => all.findIndex((q) => q.id === p.id) === i);
    await until(
      "three state changes delivered",
      async () => {
        const d = (await rig.call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: rig.a.admin })).body
          .items;
        return d.length === 3 && d.every((x: { state: string }) => x.state === "delivered");
      },
      20_000,
      50,
    );
    for (const r of received.filter((x) => x.path === "/a")) {
      const sig = r.headers["shortened-signature"] as string;
      assert.ok(verifyWebhookSignature(hook.secret, sig, r.body), "signature verifies");
      assert.ok(
        !verifyWebhookSignature(hook.secret, sig, r.body.replace("job", "jab")),
        "tampered body fails",
      );
      assert.ok(!verifyWebhookSignature("whsec_other", sig, r.body), "another secret fails");
      assert.equal(JSON.parse(r.body).id, r.headers["shortened-delivery"]);
    }
    const payloads = states().sort((x, y) => Number(x.seq) - Number(y.seq));
    assert.deepEqual(
      payloads.map((p) => p.state),
      ["queued", "running", "failed"],
    );
    assert.equal(payloads[2].reason, "boom");
    assert.equal(payloads[2].job.id, job.body.id);
    // Each delivery was retried twice (503, 503, then 204), each wait at least its scheduled delay (150 ms, then
    // 300 ms). Only lower bounds: a late first retry on a busy machine shortens nothing but can make the first
    // measured gap longer than the second, so comparing the two gaps measured the machine, not the schedule.
    const d = (await rig.call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: rig.a.admin })).body.items;
    for (const x of d) {
      assert.equal(x.attempts, 3);
      const tries = received.filter((r) => r.headers["shortened-delivery"] === x.id).map((r) => r.at);
      assert.equal(tries.length, 3);
      const gaps = [tries[1] - tries[0], tries[2] - tries[1]];
      assert.ok(gaps[0] >= 140 && gaps[1] >= 290, `gaps ${gaps}`);
    }
    // Team B's webhook saw nothing of team A's job.
    assert.equal(received.filter((r) => r.path === "/b").length, 0);
  });

  it("gives up after the last attempt and filters by state", async () => {
    const down = await create(rig.a.admin, "/always-down", ["succeeded", "cancelled"]);
    const job = await rig.call("POST", "/v1/jobs", {
      key: rig.a.admin,
      body: { kind: "evaluate", model: "tiny" },
    });
    await rig.call("POST", `/v1/jobs/${job.body.id}/cancel`, { key: rig.a.admin });
    const d = await until(
      "the delivery to fail",
      async () => {
        const items = (await rig.call("GET", `/v1/webhooks/${down.id}/deliveries`, { key: rig.a.admin })).body
          .items;
        return items.length === 1 && items[0].state === "failed" ? items : null;
      },
      20_000,
      50,
    );
    assert.equal(d[0].attempts, 4);
    assert.equal(d[0].lastStatus, 503);
    assert.equal(d[0].payload.state, "cancelled", "queued was filtered out");
    assert.equal(received.filter((r) => r.path === "/always-down").length, 4);
    assert.equal((await rig.call("DELETE", `/v1/webhooks/${down.id}`, { key: rig.a.admin })).status, 200);
  });

  it("refuses internal destinations at creation, and at delivery a stored one the operator no longer admits", async () => {
    for (const url of [
      "http://10.0.0.1/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://2130706434/",
      "https://127.2:6379/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.3]/",
      "https://localhost:5432/",
      "https://0.0.0.0/",
      "https://100.64.0.1/",
      "https://[fd00::1]/",
    ]) {
      const r = await rig.call("POST", "/v1/webhooks", { key: rig.a.admin, body: { url } });
      assert.equal(r.status, 422, `${url} -> ${r.status} ${r.text}`);
      assert.equal(r.body.error.code, "invalid_webhook_url");
    }
    // A webhook stored before the guard (or before the operator narrowed the list): never connected to.
    const last = await rig.db.prisma.jobEvent.aggregate({ _max: { seq: true } });
    const stale = await rig.db.prisma.webhook.create({
      data: {
        teamId: rig.a.teamId,
        url: `${base.replace("127.0.0.1", "127.0.0.2")}/stale`,
        secret: "whsec_x",
        states: [],
        lastSeq: last._max.seq ?? 0n,
      },
    });
    const job = await rig.call("POST", "/v1/jobs", {
      key: rig.a.admin,
      body: { kind: "evaluate", model: "tiny" },
    });
    await rig.call("POST", `/v1/jobs/${job.body.id}/cancel`, { key: rig.a.admin });
    const d = await until(
      "the stale delivery to be refused",
      async () => {
        const items = (await rig.call("GET", `/v1/webhooks/${stale.id}/deliveries`, { key: rig.a.admin }))
          .body.items;
        return items.length >= 1 && items.every((x: { state: string }) => x.state === "failed")
          ? items
          : null;
      },
      20_000,
      50,
    );
    assert.equal(d[0].attempts, 1, "a refused destination is not retried");
    assert.equal(d[0].lastStatus, null);
    assert.match(d[0].lastError, /^refused: 127\.0\.0\.2 is not a public address \(loopback\)/);
    assert.equal(received.filter((r) => r.path === "/stale").length, 0);
  });
});
