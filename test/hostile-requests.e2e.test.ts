// The hostile-request fuzzer: several hundred malformed, oversized, NUL-laden, out-of-range, cross-team and
// SSRF requests against every route of a running API (the route table, so a new route is covered). Each
// must answer a clean 4xx in the error shape, and nothing may be stored: every table's row count and every
// object of the artifact store are the same afterwards. The figures go to the README's Reliability section.
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { routeTable } from "@shortened/api";
import { type HostileCase, hostileCases } from "./helpers/hostile-cases.js";
import { startTeamsRig, type TeamsRig } from "./helpers/teams-app.js";

const tables = [
  "team",
  "apiKey",
  "model",
  "modelVersion",
  "job",
  "jobEvent",
  "metric",
  "artifact",
  "auditEvent",
  "modelShare",
  "modelAlias",
  "aliasMove",
  "webhook",
  "webhookDelivery",
  "importanceResult",
  "webSession",
  "modelSource",
] as const;

function countFiles(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    n += statSync(p).isDirectory() ? countFiles(p) : 1;
  }
  return n;
}

describe("hostile requests", { timeout: 180_000 }, () => {
  let rig: TeamsRig;
  before(async () => {
    rig = await startTeamsRig();
  });
  after(async () => rig?.close());

  async function snapshot() {
    const db = rig.db.prisma as unknown as Record<string, { count(): Promise<number> }>;
    const counts: Record<string, number> = {};
    for (const t of tables) counts[t] = await db[t].count();
    counts.storedObjects = countFiles(rig.store.root);
    counts.dispatched = rig.dispatched.length;
    return counts;
  }

  async function send(c: HostileCase) {
    const res = await fetch(rig.url + c.path, {
      method: c.method,
      headers: {
        ...(c.key !== null ? { authorization: `Bearer ${c.key ?? rig.a.admin}` } : {}),
        ...(c.body !== undefined ? { "content-type": "application/json" } : {}),
        ...c.headers,
      },
      body: c.body,
    });
    return { status: res.status, text: await res.text() };
  }

  it("answers every hostile request with a clean 4xx in the error shape and stores nothing", async (t) => {
    const cases = hostileCases(rig, routeTable(rig.app));
    assert.ok(cases.length >= 300, `only ${cases.length} cases`);
    const before = await snapshot();
    const bad: string[] = [];
    const byStatus = new Map<number, number>();
    for (const c of cases) {
      const res = await send(c).catch((e) => ({ status: 0, text: `${e.message}: ${e.cause?.message}` }));
      byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
      let body: { error?: { code?: unknown; message?: unknown } } | null = null;
      try {
        body = JSON.parse(res.text);
      } catch {}
      const shaped =
        typeof body?.error?.code === "string" &&
        typeof body.error.message === "string" &&
        body.error.message.length > 0;
      const expected = c.expect ? c.expect.includes(res.status) : res.status >= 400 && res.status < 500;
      if (!expected || !shaped)
        bad.push(`${c.what}: ${c.method} ${c.path.slice(0, 120)} -> ${res.status} ${res.text.slice(0, 200)}`);
    }
    assert.deepEqual(bad, [], `${bad.length} of ${cases.length} not clean`);
    assert.deepEqual(await snapshot(), before, "nothing stored, nothing queued");
    const statuses = [...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`);
    t.diagnostic(`${cases.length} hostile requests, all clean 4xx (${statuses.join(", ")}), nothing stored`);
  });
});
