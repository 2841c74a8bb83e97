// A study's results laid out as the paper's tables (Kim et al. 2024, Tables 2-4): the dense model first, then
// one row per criterion x pruning ratio x retraining method, with #Param, PPL per dataset, the reported
// zero-shot metric per task and their average. Written as study.json and report.md, with SVG plots: PPL
// against ratio per criterion (dense baseline marked), recovery by retraining method, the criteria's
// importance curves overlaid, and which blocks each criterion removed.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ArtifactOutput } from "@shortened/contracts";
import { vegaLiteSvg } from "./importance-plot.js";
import { formatParameters, type ReportSection } from "./report.js";

export interface MetricValue {
  value: number;
  protocol: Record<string, unknown>;
}

export interface StudyRow {
  versionId: string;
  parameters: number | null;
  metrics: Record<string, MetricValue>;
}

export interface StudyResultCell extends StudyRow {
  criterion: string;
  count: number;
  ratio: number;
  removed: number[];
  method: string;
}

export interface StudyResult {
  model: { name: string; versionId: string; blocks: number };
  dense: StudyRow;
  cells: StudyResultCell[];
  /** per criterion; angular-band: the angular scores of its narrowest band, one per band start (`group` blocks) */
  importance: Record<string, { jobId: string; scores: number[]; orderPlus: number[]; group?: number }>;
  /** zero-shot tasks not run because their data is absent */
  missingTasks: string[];
}

const TASKS: [string, string][] = [
  ["boolq", "BoolQ"],
  ["piqa", "PIQA"],
  ["hellaswag", "HellaSwag"],
  ["winogrande", "WinoGrande"],
  ["arc_easy", "ARC-e"],
  ["arc_challenge", "ARC-c"],
  ["openbookqa", "OBQA"],
];
const DATASETS: Record<string, string> = { wikitext2: "WikiText2", ptb: "PTB", tinystories: "TinyStories" };

/** An evaluate job's metrics (name -> value with protocol), read back from its report section. */
export function sectionMetrics(section: ReportSection | undefined): Record<string, MetricValue> {
  const out: Record<string, MetricValue> = {};
  if (!section) return out;
  if (section.kind === "ppl")
    out[`ppl_${section.dataset}`] = { value: section.ppl, protocol: section.protocol };
  if (section.kind === "zeroshot") {
    for (const [task, t] of Object.entries(section.tasks)) {
      const protocol = { ...section.protocol, benchmark: task, split: t.split, n: t.n };
      out[`zeroshot_${task}_acc`] = { value: t.acc, protocol };
      if (t.acc_norm !== null) out[`zeroshot_${task}_acc_norm`] = { value: t.acc_norm, protocol };
      // the paper's column: the metric it reports for the task
      out[`zeroshot_${task}`] = { value: t.value, protocol: { ...protocol, metric: t.metric } };
    }
    out.zeroshot_average = { value: section.average, protocol: section.protocol };
  }
  return out;
}

const pct = (v: number | undefined) => (v === undefined ? "–" : (100 * v).toFixed(1));
const num = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(2));

/** The perplexity datasets and zero-shot tasks measured anywhere in the study, in the paper's order. */
function columns(r: StudyResult) {
  const names = new Set([r.dense, ...r.cells].flatMap((x) => Object.keys(x.metrics)));
  const ppl = [...names]
    .filter((n) => n.startsWith("ppl_"))
    .map((n) => n.slice(4))
    .sort((a, b) => (Object.keys(DATASETS).indexOf(a) >>> 0) - (Object.keys(DATASETS).indexOf(b) >>> 0));
  const tasks = TASKS.filter(([t]) => names.has(`zeroshot_${t}`));
  return { ppl, tasks };
}

export function renderStudyReport(r: StudyResult): string {
  const { ppl, tasks } = columns(r);
  const head = [
    "Model",
    "Ratio",
    "Retrain",
    "#Param",
    ...ppl.map((d) => `PPL ${DATASETS[d] ?? d}↓`),
    ...tasks.map(([, l]) => l),
    ...(tasks.length ? ["Ave.↑"] : []),
  ];
  const row = (label: string, ratio: string, method: string, x: StudyRow) => {
    const zs = tasks.map(([t]) => x.metrics[`zeroshot_${t}`]?.value);
    const shown = zs.filter((v): v is number => v !== undefined);
    return [
      label,
      ratio,
      method,
      x.parameters === null ? "–" : formatParameters(x.parameters),
      ...ppl.map((d) => num(x.metrics[`ppl_${d}`]?.value)),
      ...zs.map(pct),
      ...(tasks.length ? [shown.length ? pct(shown.reduce((a, b) => a + b, 0) / shown.length) : "–"] : []),
    ];
  };
  const rows = [row(`${r.model.name} (dense)`, "0%", "–", r.dense)];
  for (const c of r.cells)
    rows.push(
      row(
        `${c.criterion}+ −${c.count} [${c.removed.join(",")}]`,
        `${(100 * c.ratio).toFixed(0)}%`,
        c.method,
        c,
      ),
    );
  const lines = [
    `# Study: ${r.model.name} (${r.model.blocks} blocks)`,
    "",
    `Criteria ${Object.keys(r.importance).join(", ")}; rows: criterion x pruning ratio (blocks removed / blocks) x retraining method, the dense model first.`,
    "",
    `| ${head.join(" | ")} |`,
    `|${head.map(() => " --- ").join("|")}|`,
    ...rows.map((x) => `| ${x.join(" | ")} |`),
  ];
  if (tasks.length)
    lines.push(
      "",
      `Zero-shot columns are the metric the paper reports per task (acc or acc_norm), in %; Ave. is their plain mean over the ${tasks.length} task(s) shown.`,
    );
  if (r.missingTasks.length)
    lines.push(
      `Not run (no data on the worker): ${r.missingTasks.map((t) => TASKS.find(([k]) => k === t)?.[1] ?? t).join(", ")}.`,
    );
  lines.push(
    "",
    "## Blocks removed",
    "",
    '| Criterion | Count | Removed | "+" order |',
    "| --- | ---: | --- | --- |",
  );
  for (const [criterion, imp] of Object.entries(r.importance))
    for (const count of [...new Set(r.cells.filter((c) => c.criterion === criterion).map((c) => c.count))])
      lines.push(
        `| ${criterion} | ${count} | ${r.cells.find((c) => c.criterion === criterion && c.count === count)!.removed.join(", ")} | ${imp.group ? `band of ${count}: the closest contiguous band allowed` : imp.orderPlus.join(", ")} |`,
      );
  lines.push("", "## Protocols", "");
  const seen = new Set<string>();
  for (const x of [r.dense, ...r.cells])
    for (const [name, m] of Object.entries(x.metrics)) {
      const key = `${name.replace(/_acc(_norm)?$/, "")} ${JSON.stringify({ ...m.protocol, n: undefined })}`;
      if (name.startsWith("zeroshot_") && !name.endsWith("_average") && !/_acc/.test(name)) continue;
      if (seen.has(key)) continue;
      seen.add(key);
      const p = Object.entries(m.protocol)
        .filter(([k, v]) => v !== null && v !== undefined && k !== "taskFiles" && typeof v !== "object")
        .map(([k, v]) => `${k}=${v}`)
        .join(", ");
      lines.push(`- ${name}: ${p}`);
    }
  return `${lines.join("\n")}\n`;
}

/** The first perplexity dataset of the study (the one the plots show). */
const plotDataset = (r: StudyResult) => columns(r).ppl[0];

async function pplPlot(r: StudyResult, colorBy: "criterion" | "method"): Promise<string | null> {
  const d = plotDataset(r);
  if (!d) return null;
  const metric = `ppl_${d}`;
  const methods = [...new Set(r.cells.map((c) => c.method))];
  // PPL vs ratio per criterion: the cells without retraining (or the first method when none is asked for).
  const shown =
    colorBy === "criterion"
      ? r.cells.filter((c) => c.method === (methods.includes("none") ? "none" : methods[0]))
      : r.cells;
  const values = shown
    .filter((c) => c.metrics[metric])
    .map((c) => ({
      ratio: c.ratio,
      ppl: c.metrics[metric]!.value,
      criterion: c.criterion,
      method: c.method,
    }));
  const dense = r.dense.metrics[metric]?.value;
  const label = DATASETS[d] ?? d;
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: "line", point: true },
      encoding: {
        x: {
          field: "ratio",
          type: "quantitative",
          title: "pruning ratio (blocks removed / blocks)",
          axis: { format: "%" },
        },
        y: { field: "ppl", type: "quantitative", title: `PPL ${label}`, scale: { type: "log" } },
        color: { field: colorBy, type: "nominal" },
        ...(colorBy === "method" ? { strokeDash: { field: "criterion", type: "nominal" } } : {}),
      },
    },
  ];
  if (dense !== undefined)
    layers.push({
      data: { values: [{ ppl: dense, label: `dense ${dense.toFixed(2)}` }] },
      layer: [
        {
          mark: { type: "rule", strokeDash: [4, 4], color: "black" },
          encoding: { y: { field: "ppl", type: "quantitative" } },
        },
        {
          mark: { type: "text", align: "left", dx: 4, dy: -6, x: 0 },
          encoding: { y: { field: "ppl", type: "quantitative" }, text: { field: "label" } },
        },
      ],
    });
  return vegaLiteSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title:
      colorBy === "criterion"
        ? `${r.model.name}: PPL ${label} against pruning ratio per criterion${methods.includes("none") ? " (no retraining)" : ` (${methods[0]})`}`
        : `${r.model.name}: PPL ${label} after each retraining method`,
    width: 360,
    height: 220,
    layer: layers,
  });
}

async function importanceOverlay(r: StudyResult): Promise<string> {
  // Criteria have their own scales: each curve is min-max scaled to [0, 1].
  // a band criterion scores band starts, not blocks: it is not drawn here
  const values = Object.entries(r.importance).flatMap(([criterion, { scores, group }]) => {
    if (group) return [];
    const lo = Math.min(...scores);
    const hi = Math.max(...scores);
    return scores.map((s, block) => ({ block, criterion, score: hi > lo ? (s - lo) / (hi - lo) : 0 }));
  });
  return vegaLiteSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `${r.model.name}: block importance per criterion (min-max scaled)`,
    width: Math.max(300, r.model.blocks * 22),
    height: 200,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "block", type: "ordinal" },
      y: { field: "score", type: "quantitative", title: "importance (scaled; higher = more important)" },
      color: { field: "criterion", type: "nominal" },
    },
  });
}

async function removedPlot(r: StudyResult): Promise<string> {
  const rows = [...new Map(r.cells.map((c) => [`${c.criterion} −${c.count}`, c])).entries()];
  const values = rows.flatMap(([label, c]) =>
    Array.from({ length: r.model.blocks }, (_, block) => ({
      row: label,
      block,
      removed: c.removed.includes(block) ? "removed" : "kept",
    })),
  );
  return vegaLiteSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `${r.model.name}: blocks removed per criterion and count`,
    width: Math.max(240, r.model.blocks * 18),
    height: Math.max(60, rows.length * 18),
    data: { values },
    mark: "rect",
    encoding: {
      x: { field: "block", type: "ordinal" },
      y: { field: "row", type: "nominal", title: null, sort: null },
      color: {
        field: "removed",
        type: "nominal",
        scale: { domain: ["kept", "removed"], range: ["#dde6f0", "#e45756"] },
        title: null,
      },
    },
  });
}

/** Writes study.json, report.md and the plots into `dir`; returns them as artifacts. */
export async function writeStudyReport(r: StudyResult, dir: string): Promise<ArtifactOutput[]> {
  const out: ArtifactOutput[] = [];
  const put = async (name: string, text: string | null, contentType: string) => {
    if (text === null) return;
    const path = join(dir, name);
    await writeFile(path, text);
    out.push({ name, path, contentType });
  };
  await put("study.json", JSON.stringify(r, null, 2), "application/json");
  await put("report.md", renderStudyReport(r), "text/markdown");
  await put("ppl-vs-ratio.svg", await pplPlot(r, "criterion"), "image/svg+xml");
  if (new Set(r.cells.map((c) => c.method)).size > 1)
    await put("recovery-by-method.svg", await pplPlot(r, "method"), "image/svg+xml");
  await put("importance.svg", await importanceOverlay(r), "image/svg+xml");
  await put("blocks-removed.svg", await removedPlot(r), "image/svg+xml");
  return out;
}
