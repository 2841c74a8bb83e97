// Metrics are only comparable on equal protocols (equal protocol hashes). Helpers shared by promotion
// rules and comparisons: the latest value per (name, protocol), and what differs between two protocols.

export interface MetricRow {
  id: string;
  versionId: string;
  name: string;
  value: number;
  protocol: unknown;
  protocolHash: string;
}

/** The latest metric per (name, protocolHash) of one version (ids are time ordered). */
export function latestByProtocol(rows: MetricRow[], name: string): Map<string, MetricRow> {
  const out = new Map<string, MetricRow>();
  for (const r of [...rows].sort((a, b) => (a.id < b.id ? -1 : 1)))
    if (r.name === name) out.set(r.protocolHash, r);
  return out;
}

const show = (v: unknown) => (v === undefined ? "(unset)" : JSON.stringify(v));

/** "seqLen 128 vs 2048; bos "first" vs "every"": the fields whose values differ. */
export function protocolDifference(a: unknown, b: unknown): string {
  const pa = (a ?? {}) as Record<string, unknown>;
  const pb = (b ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort();
  const diffs = keys
    .filter((k) => JSON.stringify(pa[k]) !== JSON.stringify(pb[k]))
    .map((k) => `${k} ${show(pa[k])} vs ${show(pb[k])}`);
  return diffs.join("; ");
}

/** The few protocol fields a person reads first. */
export function protocolSummary(p: unknown): string {
  const r = (p ?? {}) as Record<string, unknown>;
  const keys = [
    "task",
    "benchmark",
    "dataset",
    "seqLen",
    "bos",
    "maxTokens",
    "limit",
    "batch",
    "promptTokens",
    "genTokens",
    "device",
  ];
  return keys
    .filter((k) => r[k] !== undefined && r[k] !== null)
    .map((k) => `${k}=${typeof r[k] === "string" ? r[k] : JSON.stringify(r[k])}`)
    .join(", ");
}
