import assert from "node:assert/strict";
import { test } from "node:test";
import { PromotionRule } from "@shortened/contracts";
import { compareVersions } from "./compare.js";
import type { MetricRow } from "./metric-protocols.js";
import { checkRule } from "./promotion.js";

let n = 0;
const metric = (
  versionId: string,
  name: string,
  value: number,
  protocol: Record<string, unknown>,
): MetricRow => ({
  id: `0000000${n++}`.slice(-8),
  versionId,
  name,
  value,
  protocol,
  protocolHash: JSON.stringify(protocol),
});

test("a relative perplexity rule compares on each common protocol and reports the numbers", () => {
  const rule = PromotionRule.parse({
    type: "max_metric_increase",
    metric: "ppl_ptb",
    max: 0.1,
    relative: true,
  });
  const mine = [metric("v2", "ppl_ptb", 22, { seqLen: 128 }), metric("v2", "ppl_ptb", 11, { seqLen: 2048 })];
  const theirs = [metric("v1", "ppl_ptb", 20, { seqLen: 128 }), metric("v1", "ppl_ptb", 9, { seqLen: 2048 })];
  const checks = checkRule(rule, "v2", "v1", mine, theirs);
  assert.deepEqual(
    checks.map((c) => c.passed),
    [true, false],
  );
  assert.match(checks[1].message, /ppl_ptb 11\.00 vs 9\.000 \(22\.22%, limit 10\.00%\) on seqLen=2048/);
});

test("a speedup rule reads batch-1 latencies only, and later values replace earlier ones", () => {
  const rule = PromotionRule.parse({ type: "min_speedup", min: 1.5 });
  const p1 = { task: "generation", batch: 1 };
  const p8 = { task: "generation", batch: 8 };
  const mine = [
    metric("v2", "latency_s", 0.05, p1),
    metric("v2", "latency_s", 0.08, p1),
    metric("v2", "latency_s", 0.01, p8),
  ];
  const theirs = [metric("v1", "latency_s", 0.1, p1), metric("v1", "latency_s", 0.1, p8)];
  const [c] = checkRule(rule, "v2", "v1", mine, theirs);
  assert.equal(c.passed, false);
  assert.equal(c.observed, 0.1 / 0.08);
  assert.match(c.message, /speedup 1\.250x \(limit 1\.500x\)/);
  const none = checkRule(rule, "v1", null, theirs, []);
  assert.match(none[0].message, /has no parent to compare with/);
});

test("compare refuses a metric measured on different protocols and names the fields", () => {
  const m = new Map([
    ["a", [metric("a", "ppl_wikitext2", 12.6, { seqLen: 128, bos: "first" })]],
    ["b", [metric("b", "ppl_wikitext2", 5.7, { seqLen: 2048, bos: "first" })]],
  ]);
  const r = compareVersions(
    [
      { id: "a", label: "m@1" },
      { id: "b", label: "m@2" },
    ],
    m,
  );
  assert.deepEqual(r.rows, []);
  assert.match(r.refused[0].reason, /different protocols.*m@1 vs m@2: seqLen 128 vs 2048/);
});
