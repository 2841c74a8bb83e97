// A model card for every version, generated from the registry: how the version was made (criterion,
// removed blocks, retraining settings, data), its metrics with their protocols, its lineage, and the
// base model's license, which every descendant carries.
import { getVersion, listMetrics, type PrismaClient, lineage as versionLineage } from "@shortened/adapters";
import { protocolSummary } from "./metric-protocols.js";

interface VersionRow {
  id: string;
  modelId: string;
  number: number;
  kind: string;
  parentId: string | null;
  recipe: unknown;
  config: unknown;
  producedByJobId: string | null;
  createdAt: Date;
}

export interface ModelCard {
  model: { id: string; name: string; description: string | null; sourceUri: string | null };
  version: { id: string; number: number; kind: string; createdAt: string };
  license: { id: string | null; inheritedFrom: string | null; note: string };
  architecture: Record<string, unknown>;
  recipe: Record<string, unknown>;
  training: Record<string, unknown> | null;
  producedBy: { jobId: string; kind: string; spec: unknown } | null;
  lineage: { id: string; number: number; kind: string; summary: string }[];
  metrics: { name: string; value: number; protocol: unknown; protocolSummary: string }[];
  aliases: string[];
}

const ARCH_KEYS = [
  "architecture",
  "model_type",
  "num_hidden_layers",
  "hidden_size",
  "intermediate_size",
  "num_attention_heads",
  "num_key_value_heads",
  "vocab_size",
];

function step(v: VersionRow): string {
  const r = (v.recipe ?? {}) as Record<string, unknown>;
  if (v.kind === "base") return `base checkpoint${r.source ? ` from ${r.source}` : ""}`;
  if (Array.isArray(r.removed))
    return `removed blocks ${r.removed.join(", ")}${r.criterion ? ` by ${r.criterion}` : ""} (${r.layersBefore ?? "?"} -> ${r.layersAfter ?? "?"} layers)`;
  if (r.method) return `retrained with ${r.method}${r.dataset ? ` on ${r.dataset}` : ""}`;
  return v.kind;
}

export async function buildModelCard(
  db: PrismaClient,
  teamId: string | null,
  versionId: string,
): Promise<ModelCard> {
  // teamId null: a version of a shared model, readable by every team.
  const v = teamId
    ? await getVersion(db, teamId, versionId)
    : await db.modelVersion.findUniqueOrThrow({ where: { id: versionId } });
  const owner = v.teamId;
  const [model, line, metrics, job, aliases] = await Promise.all([
    db.model.findUniqueOrThrow({ where: { id: v.modelId } }),
    versionLineage(db, owner, v.id),
    listMetrics(db, owner, { versionId: v.id }),
    v.producedByJobId ? db.job.findUnique({ where: { id: v.producedByJobId } }) : Promise.resolve(null),
    db.modelAlias.findMany({ where: { versionId: v.id }, orderBy: { name: "asc" } }),
  ]);
  const chain = [v, ...line.ancestors] as VersionRow[];
  const base = chain[chain.length - 1];
  const raw = ((v.config as Record<string, unknown> | null) ?? {}) as Record<string, unknown>;
  const cfg = (raw.raw as Record<string, unknown> | undefined) ?? raw;
  const spec = (job?.spec ?? null) as Record<string, unknown> | null;
  const recipe = (v.recipe ?? {}) as Record<string, unknown>;
  const training =
    recipe.method || spec?.kind === "retrain"
      ? Object.fromEntries(
          ["method", "dataset", "steps", "batchSize", "seqLen", "lr", "loraRank", "loraAlpha", "seed"]
            .map((k) => [k, recipe[k] ?? spec?.[k]])
            .filter(([, x]) => x !== undefined),
        )
      : null;
  return {
    model: { id: model.id, name: model.name, description: model.description, sourceUri: model.sourceUri },
    version: { id: v.id, number: v.number, kind: v.kind, createdAt: v.createdAt.toISOString() },
    license: {
      id: model.license,
      inheritedFrom: v.id === base.id ? null : base.id,
      note: model.license
        ? `${model.license}, the license of the base checkpoint; it applies to every version derived from it`
        : "the base checkpoint was registered without a license: check its source before use",
    },
    architecture: Object.fromEntries(ARCH_KEYS.filter((k) => cfg[k] !== undefined).map((k) => [k, cfg[k]])),
    recipe,
    training,
    producedBy: job ? { jobId: job.id, kind: job.kind, spec: job.spec } : null,
    lineage: [...chain]
      .reverse()
      .map((x) => ({ id: x.id, number: x.number, kind: x.kind, summary: step(x) })),
    metrics: metrics.map((m) => ({
      name: m.name,
      value: m.value,
      protocol: m.protocol,
      protocolSummary: protocolSummary(m.protocol),
    })),
    aliases: aliases.map((a) => `@${a.name}`),
  };
}

export function modelCardMarkdown(c: ModelCard): string {
  const lines = [
    `# ${c.model.name} v${c.version.number} (${c.version.kind})`,
    "",
    c.model.description ?? "",
    "",
    `- Version: \`${c.version.id}\`${c.aliases.length ? ` (${c.aliases.join(", ")})` : ""}`,
    `- License: ${c.license.note}`,
    ...(c.model.sourceUri ? [`- Source: ${c.model.sourceUri}`] : []),
    "",
    "## Architecture",
    "",
    ...Object.entries(c.architecture).map(([k, x]) => `- ${k}: ${x}`),
    "",
    "## How it was made",
    "",
    ...c.lineage.map((l) => `${l.number}. v${l.number} (${l.kind}): ${l.summary}`),
    ...(c.training
      ? ["", "## Retraining", "", ...Object.entries(c.training).map(([k, x]) => `- ${k}: ${x}`)]
      : []),
    "",
    "## Metrics",
    "",
    ...(c.metrics.length
      ? [
          "| metric | value | protocol |",
          "| --- | --- | --- |",
          ...c.metrics.map((m) => `| ${m.name} | ${m.value.toPrecision(6)} | ${m.protocolSummary} |`),
        ]
      : ["No metrics recorded yet."]),
    "",
  ];
  return lines.join("\n");
}
