// Side-by-side metrics of several versions, only where every version was measured on the same protocol.
// A metric whose protocols differ (a 128-token perplexity beside a 2048-token one) is refused with the
// fields that differ.
import { latestByProtocol, type MetricRow, protocolDifference } from "./metric-protocols.js";

export interface ComparedVersion {
  id: string;
  label: string;
}

export interface ComparisonRow {
  name: string;
  protocolHash: string;
  protocol: unknown;
  values: Record<string, number>;
}

export interface RefusedMetric {
  name: string;
  reason: string;
}

export function compareVersions(
  versions: ComparedVersion[],
  metricsByVersion: Map<string, MetricRow[]>,
  only?: string,
): { rows: ComparisonRow[]; refused: RefusedMetric[] } {
  const names = only
    ? [only]
    : [...new Set(versions.flatMap((v) => (metricsByVersion.get(v.id) ?? []).map((m) => m.name)))].sort();
  const rows: ComparisonRow[] = [];
  const refused: RefusedMetric[] = [];
  for (const name of names) {
    const per = versions.map((v) => ({ v, m: latestByProtocol(metricsByVersion.get(v.id) ?? [], name) }));
    const missing = per.filter((p) => p.m.size === 0).map((p) => p.v.label);
    if (missing.length) {
      refused.push({ name, reason: `${name} was not measured for ${missing.join(", ")}` });
      continue;
    }
    const common = [...per[0].m.keys()].filter((h) => per.every((p) => p.m.has(h)));
    if (common.length === 0) {
      const first = per[0];
      const newest = (m: Map<string, MetricRow>) => [...m.values()].sort((a, b) => (a.id < b.id ? 1 : -1))[0];
      const diffs = per
        .slice(1)
        .map((p) => {
          const d = protocolDifference(newest(first.m).protocol, newest(p.m).protocol);
          return `${first.v.label} vs ${p.v.label}: ${d}`;
        })
        .join(" | ");
      refused.push({
        name,
        reason: `${name} was measured on different protocols, so the values are not comparable (${diffs})`,
      });
      continue;
    }
    for (const h of common) {
      const values: Record<string, number> = {};
      for (const p of per) values[p.v.id] = p.m.get(h)!.value;
      rows.push({ name, protocolHash: h, protocol: per[0].m.get(h)!.protocol, values });
    }
  }
  return { rows, refused };
}
