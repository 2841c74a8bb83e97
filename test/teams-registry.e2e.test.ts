// The registry for teams: aliases with history and promotion rules (a move that breaks a rule is refused
// with the rule and the numbers), model cards with the base license carried to descendants, sharing with
// the organisation, comparisons on equal protocols only, and importance results stored and reused.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runJob } from "@shortened/jobs";
import {
  latencyProtocol,
  pplProtocol,
  pruneTinyAsWorker,
  runJobAsWorker,
  startTeamsRig,
  type TeamsRig,
} from "./helpers/teams-app.js";

describe("registry: aliases, promotion rules, cards, sharing, compare, importance reuse", {
  timeout: 60_000,
}, () => {
  let rig: TeamsRig;
  let key = "";
  let base = "";
  let pruned = "";
  let retrained = "";
  let longOnly = "";

  before(async () => {
    rig = await startTeamsRig();
    key = rig.a.admin;
    base = rig.model.versionId;
    const p = await pruneTinyAsWorker(rig, key, [
      { name: "ppl_wikitext2", value: 14.2, protocol: pplProtocol(128) },
      { name: "ppl_wikitext2", value: 9.0, protocol: pplProtocol(2048) },
      { name: "latency_s", value: 0.08, protocol: latencyProtocol(1) },
      { name: "ppl_wikitext2", value: 12.0, protocol: pplProtocol(128), versionId: base },
      { name: "latency_s", value: 0.1, protocol: latencyProtocol(1), versionId: base },
    ]);
    pruned = p.versionId!;
    const r = await runJobAsWorker(
      rig,
      key,
      { kind: "evaluate", model: pruned },
      {
        version: {
          kind: "retrained",
          recipe: { step: "retrain", method: "lora", dataset: "tinystories", steps: 100 },
        },
        metrics: [
          { name: "ppl_wikitext2", value: 12.9, protocol: pplProtocol(128) },
          { name: "latency_s", value: 0.081, protocol: latencyProtocol(1) },
        ],
      },
    );
    retrained = r.versionId!;
    const l = await runJobAsWorker(
      rig,
      key,
      { kind: "prune", model: base, blocks: [5] },
      {
        version: { kind: "pruned", recipe: { step: "prune", removed: [5], layersBefore: 8, layersAfter: 7 } },
        metrics: [{ name: "ppl_wikitext2", value: 7.5, protocol: pplProtocol(2048) }],
      },
    );
    longOnly = l.versionId!;
  });
  after(async () => rig?.close());

  it("refuses a promotion that breaks a rule, with the rule and the numbers", async () => {
    const rules = [
      { type: "max_metric_increase", metric: "ppl_wikitext2", max: 1.0 },
      { type: "min_speedup", batch: 1, min: 1.2, against: "base" },
    ];
    const set = await rig.call("PUT", "/v1/models/tiny/aliases/@prod/rules", { key, body: { rules } });
    assert.equal(set.status, 200, set.text);
    const refused = await rig.call("PUT", "/v1/models/tiny/aliases/prod", { key, body: { version: pruned } });
    assert.equal(refused.status, 422, refused.text);
    assert.equal(refused.body.error.code, "promotion_refused");
    const msg = refused.body.error.message as string;
    assert.match(msg, /ppl_wikitext2 at most \+1\.000 above the parent/);
    assert.match(msg, /14\.20 vs 12\.00 \(\+2\.200, limit \+1\.000\)/);
    assert.match(msg, /seqLen=128/);
    const checks = refused.body.error.details.checks;
    const ppl = checks.find((c: { rule: { type: string } }) => c.rule.type === "max_metric_increase");
    assert.deepEqual([ppl.passed, ppl.value, ppl.reference, ppl.limit], [false, 14.2, 12, 1]);
    assert.ok(Math.abs(ppl.observed - 2.2) < 1e-9);
    const speed = checks.find((c: { rule: { type: string } }) => c.rule.type === "min_speedup");
    assert.equal(speed.passed, true, "1.25x >= 1.2x");
    assert.equal((await rig.call("GET", "/v1/models/tiny/aliases/prod", { key })).body.versionId, null);

    // The retrained version passes both (12.9 vs its parent's 14.2; 0.1/0.081 = 1.23x over the base).
    const ok = await rig.call("PUT", "/v1/models/tiny/aliases/prod", {
      key: rig.a.member,
      body: { version: 3 },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.versionId, retrained);
    assert.ok(ok.body.move.checks.every((c: { passed: boolean }) => c.passed));
    // A rule that cannot be checked fails and says what to measure.
    await rig.call("PUT", "/v1/models/tiny/aliases/strict/rules", {
      key,
      body: { rules: [{ type: "max_metric_increase", metric: "ppl_ptb", max: 5 }] },
    });
    const unmeasured = await rig.call("PUT", "/v1/models/tiny/aliases/strict", { key, body: { version: 3 } });
    assert.equal(unmeasured.status, 422);
    assert.match(unmeasured.body.error.message, /no ppl_ptb measured on the same protocol/);
    const bad = await rig.call("PUT", "/v1/models/tiny/aliases/prod/rules", {
      key,
      body: { rules: [{ type: "min_speedup", min: -1 }] },
    });
    assert.equal(bad.status, 400);
  });

  it("moves aliases with history, and resolves name@alias in job specs", async () => {
    for (const v of [pruned, retrained])
      assert.equal(
        (await rig.call("PUT", "/v1/models/tiny/aliases/candidate", { key, body: { version: v } })).status,
        200,
      );
    const alias = (await rig.call("GET", "/v1/models/tiny/aliases/@candidate", { key })).body;
    assert.equal(alias.versionId, retrained);
    assert.deepEqual(
      alias.history.map((h: { fromVersionId: string | null; toVersionId: string }) => [
        h.fromVersionId,
        h.toVersionId,
      ]),
      [
        [pruned, retrained],
        [null, pruned],
      ],
    );
    const list = (await rig.call("GET", "/v1/models/tiny/aliases", { key })).body.items.map(
      (a: { name: string }) => a.name,
    );
    assert.deepEqual(list, ["@candidate", "@prod", "@strict"]);
    const job = await rig.call("POST", "/v1/jobs", { key, body: { kind: "evaluate", model: "tiny@prod" } });
    assert.equal(job.status, 201, job.text);
    assert.equal(job.body.inputVersionId, retrained);
    assert.equal(
      (await rig.call("POST", "/v1/jobs", { key, body: { kind: "evaluate", model: "tiny@nope" } })).status,
      404,
    );
    const other = await rig.call("PUT", "/v1/models/tiny/aliases/prod", { key, body: { version: 99 } });
    assert.equal(other.status, 404);
  });

  it("generates a model card for every version, carrying the base license", async () => {
    const card = (await rig.call("GET", `/v1/versions/${retrained}/card`, { key })).body;
    assert.equal(card.license.id, "MIT");
    assert.equal(card.license.inheritedFrom, base);
    assert.deepEqual(
      card.lineage.map((l: { kind: string }) => l.kind),
      ["base", "pruned", "retrained"],
    );
    assert.match(card.lineage[1].summary, /removed blocks 3, 4 by ppl\+ \(8 -> 6 layers\)/);
    assert.equal(card.training.method, "lora");
    assert.equal(card.training.dataset, "tinystories");
    assert.deepEqual(card.aliases, ["@candidate", "@prod"]);
    assert.equal(card.architecture.num_hidden_layers, 8);
    assert.ok(
      card.metrics.some(
        (m: { name: string; protocolSummary: string }) =>
          m.name === "ppl_wikitext2" && /seqLen=128/.test(m.protocolSummary),
      ),
    );
    const baseCard = (await rig.call("GET", `/v1/versions/${base}/card`, { key })).body;
    assert.equal(baseCard.license.id, "MIT");
    assert.equal(baseCard.license.inheritedFrom, null);
    const md = await rig.call("GET", `/v1/versions/${pruned}/card?format=markdown`, { key });
    assert.match(md.headers.get("content-type") ?? "", /text\/markdown/);
    assert.match(md.text, /# tiny v2 \(pruned\)/);
    assert.match(md.text, /License: MIT/);
    assert.match(md.text, /\| ppl_wikitext2 \| 14\.2000 \|/);
  });

  it("shares a model with the organisation: other teams read it only under /v1/shared", async () => {
    const b = rig.b.admin;
    assert.equal((await rig.call("GET", "/v1/shared/models", { key: b })).body.items.length, 0);
    assert.equal((await rig.call("PUT", "/v1/models/tiny/share", { key })).status, 200);
    const shared = (await rig.call("GET", "/v1/shared/models", { key: b })).body.items;
    assert.deepEqual(
      shared.map((m: { id: string }) => m.id),
      [rig.model.id],
    );
    assert.match(shared[0].team, /^team-a-/);
    const one = (await rig.call("GET", `/v1/shared/models/${rig.model.id}`, { key: b })).body;
    assert.equal(one.versions.length, 4);
    const card = (await rig.call("GET", `/v1/shared/versions/${retrained}/card`, { key: b })).body;
    assert.equal(card.license.id, "MIT");
    // Still not in B's own registry.
    assert.equal((await rig.call("GET", `/v1/versions/${retrained}`, { key: b })).status, 404);
    assert.equal((await rig.call("GET", "/v1/models", { key: b })).body.items.length, 0);
    assert.equal((await rig.call("DELETE", "/v1/models/tiny/share", { key })).status, 200);
    assert.equal((await rig.call("GET", `/v1/shared/models/${rig.model.id}`, { key: b })).status, 404);
  });

  it("compares versions only on the same protocol, and says why not", async () => {
    const r = await rig.call("GET", `/v1/metrics/compare?versions=${base},tiny@2,tiny@prod`, { key });
    assert.equal(r.status, 200, r.text);
    const ppl = r.body.rows.find((x: { name: string }) => x.name === "ppl_wikitext2");
    assert.deepEqual(Object.values(ppl.values), [12, 14.2, 12.9]);
    assert.equal(ppl.protocol.seqLen, 128);
    assert.equal(
      r.body.rows.filter((x: { name: string }) => x.name === "ppl_wikitext2").length,
      1,
      "2048 only on v2",
    );
    const refused = await rig.call(
      "GET",
      `/v1/metrics/compare?versions=${base},${longOnly}&metric=ppl_wikitext2`,
      { key },
    );
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, "incomparable");
    assert.match(refused.body.error.message, /different protocols.*seqLen 128 vs 2048/);
    const one = await rig.call("GET", `/v1/metrics/compare?versions=${base}`, { key });
    assert.equal(one.status, 400);
  });

  it("stores importance per (version, criterion, calibration) and reuses it in later jobs", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "teams-runner-"));
    try {
      const spec = {
        kind: "importance",
        model: base,
        criterion: "ppl",
        calibration: { dataset: "ptb", n: 2, seqLen: 32 },
        keepFirst: 1,
        keepLast: 1,
      };
      const runOne = async (s: Record<string, unknown>) => {
        const j = await rig.call("POST", "/v1/jobs", { key, body: s });
        const out = await runJob({ db: rig.db.prisma, store: rig.store, cacheDir }, j.body.id);
        assert.equal(out.status, "succeeded");
        const logs = (await rig.call("GET", `/v1/jobs/${j.body.id}/events`, { key })).body.items
          .filter((e: { type: string }) => e.type === "log")
          .map((e: { data: { line: string } }) => e.data.line);
        return { result: (out as { result: Record<string, unknown> }).result, logs };
      };
      const first = await runOne(spec);
      assert.ok(!first.logs.some((l: string) => /reusing/.test(l)));
      const stored = await rig.db.prisma.importanceResult.findMany({ where: { versionId: base } });
      assert.equal(stored.length, 1);
      assert.equal(stored[0].criterion, "ppl");
      const second = await runOne({ ...spec, keepFirst: 2, keepLast: 2 });
      assert.ok(
        second.logs.some((l: string) => /reusing the stored ppl scores/.test(l)),
        second.logs.join("\n"),
      );
      assert.deepEqual(second.result.scores, first.result.scores);
      assert.deepEqual(second.result.order, first.result.order);
      const plus = second.result.orderPlus as number[];
      assert.ok(
        !plus.includes(0) && !plus.includes(1) && !plus.includes(6) && !plus.includes(7),
        "its own + order",
      );
      // Another calibration is another key: computed, stored beside the first.
      await runOne({ ...spec, calibration: { dataset: "ptb", n: 2, seqLen: 32, seed: 7 } });
      assert.equal(await rig.db.prisma.importanceResult.count({ where: { versionId: base } }), 2);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
