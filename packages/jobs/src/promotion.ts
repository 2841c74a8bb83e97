// Promotion rules of an alias, checked against the version's metrics and those of the version it is
// compared with (its parent, or the base of its lineage), on equal protocols only. A rule that cannot
// be checked (no metric on a common protocol) fails, saying what to measure.
import { getVersion, listMetrics, type PrismaClient } from "@shortened/adapters";
import type { PromotionRule } from "@shortened/contracts";
import { latestByProtocol, type MetricRow, protocolSummary } from "./metric-protocols.js";

export interface RuleCheck {
  rule: PromotionRule;
  passed: boolean;
  message: string;
  versionId: string;
  referenceVersionId: string | null;
  protocol?: unknown;
  value?: number;
  reference?: number;
  /** max_metric_increase: value - reference (or relative change); min_speedup: reference / value */
  observed?: number;
  limit: number;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4));

function describeRule(r: PromotionRule): string {
  const who = r.against === "base" ? "the base version" : "the parent";
  return r.type === "max_metric_increase"
    ? `${r.metric} at most ${r.relative ? `${fmt(r.max * 100)}%` : `+${fmt(r.max)}`} above ${who}`
    : `batch-${r.batch} speedup at least ${fmt(r.min)}x over ${who}`;
}

/** Checks one rule; `refId` is null when the version has nothing to be compared with. */
export function checkRule(
  rule: PromotionRule,
  versionId: string,
  refId: string | null,
  mine: MetricRow[],
  theirs: MetricRow[],
): RuleCheck[] {
  const limit = rule.type === "max_metric_increase" ? rule.max : rule.min;
  const base = { rule, versionId, referenceVersionId: refId, limit };
  const title = `rule "${describeRule(rule)}"`;
  if (!refId)
    return [
      {
        ...base,
        passed: false,
        message: `${title}: version ${versionId} has no ${rule.against} to compare with`,
      },
    ];
  const name = rule.type === "max_metric_increase" ? rule.metric : "latency_s";
  const batchOk = (m: MetricRow) =>
    rule.type !== "min_speedup" || (m.protocol as Record<string, unknown>)?.batch === rule.batch;
  const a = latestByProtocol(mine.filter(batchOk), name);
  const b = latestByProtocol(theirs.filter(batchOk), name);
  const common = [...a.keys()].filter((h) => b.has(h));
  if (common.length === 0)
    return [
      {
        ...base,
        passed: false,
        message: `${title}: no ${name}${rule.type === "min_speedup" ? ` at batch ${rule.batch}` : ""} measured on the same protocol for version ${versionId} and ${refId} (run the same evaluate/benchmark job on both)`,
      },
    ];
  return common.map((h) => {
    const value = a.get(h)!.value;
    const reference = b.get(h)!.value;
    const protocol = a.get(h)!.protocol;
    const on = `on ${protocolSummary(protocol) || `protocol ${h}`}`;
    if (rule.type === "max_metric_increase") {
      const observed = rule.relative ? (value - reference) / reference : value - reference;
      const passed = observed <= rule.max;
      const shown = rule.relative ? `${fmt(observed * 100)}%` : `${observed >= 0 ? "+" : ""}${fmt(observed)}`;
      return {
        ...base,
        protocol,
        value,
        reference,
        observed,
        passed,
        message: `${title} ${passed ? "passed" : "broken"}: ${name} ${fmt(value)} vs ${fmt(reference)} (${shown}, limit ${rule.relative ? `${fmt(rule.max * 100)}%` : `+${fmt(rule.max)}`}) ${on}`,
      };
    }
    const observed = reference / value;
    const passed = observed >= rule.min;
    return {
      ...base,
      protocol,
      value,
      reference,
      observed,
      passed,
      message: `${title} ${passed ? "passed" : "broken"}: latency ${fmt(value)} s vs ${fmt(reference)} s, speedup ${fmt(observed)}x (limit ${fmt(rule.min)}x) ${on}`,
    };
  });
}

/** The version a rule compares with: the parent, or the root of the lineage. */
async function referenceOf(db: PrismaClient, teamId: string, versionId: string, against: "parent" | "base") {
  let v = await getVersion(db, teamId, versionId);
  if (!v.parentId) return null;
  if (against === "parent") return v.parentId;
  while (v.parentId) v = await getVersion(db, teamId, v.parentId);
  return v.id;
}

export async function checkPromotion(
  db: PrismaClient,
  teamId: string,
  versionId: string,
  rules: PromotionRule[],
): Promise<RuleCheck[]> {
  const mine = (await listMetrics(db, teamId, { versionId })) as MetricRow[];
  const out: RuleCheck[] = [];
  for (const rule of rules) {
    const refId = await referenceOf(db, teamId, versionId, rule.against);
    const theirs = refId ? ((await listMetrics(db, teamId, { versionId: refId })) as MetricRow[]) : [];
    out.push(...checkRule(rule, versionId, refId, mine, theirs));
  }
  return out;
}
