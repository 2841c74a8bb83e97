// The evaluation report: what an evaluate job (or all evaluate steps of a pipeline) measured, laid out as
// the paper presents it — one results row (#Param, PPL per dataset, zero-shot accuracy per task, average),
// the zero-shot detail with its notes, then sample generations — plus every protocol. Written as
// report.json (the data) and report.md (for people).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ArtifactOutput } from "@shortened/contracts";

export interface ReportModel {
  versionId: string;
  name: string;
  number: number;
  kind: string;
  blocks: number;
  parameters: number;
  /** blocks removed from the parent (a pruned version's recipe), else null */
  removedBlocks: number[] | null;
}

export interface PplSection {
  kind: "ppl";
  dataset: string;
  seqLen: number;
  ppl: number;
  tokens: number;
  protocol: Record<string, unknown>;
}

export interface ZeroShotTaskRow {
  acc: number;
  acc_norm: number | null;
  n: number;
  /** the metric the paper reports for this task */
  metric: "acc" | "acc_norm";
  value: number;
  split: string;
}

export interface ZeroShotSection {
  kind: "zeroshot";
  tasks: Record<string, ZeroShotTaskRow>;
  average: number;
  /** Tasks of the default list not run because their data is absent (named in the report). */
  missingTasks?: string[];
  notes: string[];
  protocol: Record<string, unknown>;
}

export interface GenerationSettings {
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  maxNewTokens: number;
  numSamples: number;
  bos: boolean;
}

export interface SamplesSection {
  kind: "generate";
  settings: GenerationSettings;
  samples: { prompt: string; outputs: { text: string; finish: "eos" | "length"; newTokens: number }[] }[];
  protocol: Record<string, unknown>;
}

export type ReportSection = (PplSection | ZeroShotSection | SamplesSection) & {
  jobId: string;
  model: ReportModel;
};

export interface EvaluationReport {
  model: ReportModel;
  sections: ReportSection[];
}

const KIND_ORDER = ["ppl", "zeroshot", "generate"];
const DATASET_ORDER = ["wikitext2", "ptb"];

/** The report sections kept in evaluate jobs' results (`result.report`), in the paper's order: perplexity
 *  (WikiText2, PTB; by sequence length), zero-shot, generations; otherwise in the order given. */
export function reportSections(results: (Record<string, unknown> | null)[]): ReportSection[] {
  const rank = (s: ReportSection) =>
    s.kind === "ppl"
      ? [0, DATASET_ORDER.indexOf(s.dataset) >>> 0, s.seqLen] // >>> 0: an unknown dataset (-1) goes last
      : [KIND_ORDER.indexOf(s.kind), 0, 0];
  return results
    .map((r) => r?.report as ReportSection | undefined)
    .filter(
      (s): s is ReportSection => !!s && typeof s === "object" && KIND_ORDER.includes(s.kind) && !!s.model,
    )
    .map((s, i) => ({ s, key: [...rank(s), i] }))
    .sort((a, b) => {
      for (let k = 0; k < a.key.length; k++) if (a.key[k] !== b.key[k]) return a.key[k]! - b.key[k]!;
      return 0;
    })
    .map(({ s }) => s);
}

// Column order and labels of the paper's results tables (Kim et al. 2024).
const DATASET_LABELS: Record<string, string> = { wikitext2: "WikiText2", ptb: "PTB" };
const TASK_LABELS: [string, string][] = [
  ["boolq", "BoolQ"],
  ["piqa", "PIQA"],
  ["hellaswag", "HellaSwag"],
  ["winogrande", "WinoGrande"],
  ["arc_easy", "ARC-e"],
  ["arc_challenge", "ARC-c"],
  ["openbookqa", "OBQA"],
];

const pct = (v: number | null) => (v === null ? "–" : (100 * v).toFixed(1));
const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/** 1234567 -> "1.23M" */
export function formatParameters(n: number): string {
  for (const [unit, size] of [
    ["B", 1e9],
    ["M", 1e6],
    ["K", 1e3],
  ] as const)
    if (n >= size) return `${(n / size).toPrecision(3)}${unit}`;
  return String(n);
}

const byKind = <K extends ReportSection["kind"]>(r: EvaluationReport, k: K) =>
  r.sections.filter((s): s is Extract<ReportSection, { kind: K }> => s.kind === k);

function resultsTable(r: EvaluationReport): string[] {
  const ppl = byKind(r, "ppl");
  const zs = byKind(r, "zeroshot");
  // Several zero-shot jobs: later ones override a task scored twice; the average is over what is shown.
  const tasks: Record<string, ZeroShotTaskRow> = Object.assign({}, ...zs.map((s) => s.tasks));
  const taskCols = TASK_LABELS.filter(([t]) => tasks[t]);
  const seqLens = new Set(ppl.map((p) => p.seqLen));
  const pplLabel = (p: PplSection) =>
    `PPL ${DATASET_LABELS[p.dataset] ?? p.dataset}${seqLens.size > 1 ? ` (${p.seqLen})` : ""}↓`;
  const head = ["Model", "#Param", ...ppl.map(pplLabel), ...taskCols.map(([, l]) => l)];
  const row = [`${r.model.name}@${r.model.number}`, formatParameters(r.model.parameters)];
  row.push(...ppl.map((p) => p.ppl.toFixed(2)), ...taskCols.map(([t]) => pct(tasks[t]!.value)));
  if (taskCols.length) {
    head.push("Ave.↑");
    row.push(pct(taskCols.reduce((a, [t]) => a + tasks[t]!.value, 0) / taskCols.length));
  }
  if (head.length === 2) return [];
  const lines = [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => " --- ").join("|")}|`,
    `| ${row.join(" | ")} |`,
  ];
  if (taskCols.length)
    lines.push(
      "",
      `Zero-shot columns are the metric the paper reports per task (acc or acc_norm), in %; the average is their plain mean${taskCols.length < TASK_LABELS.length ? ` over the ${taskCols.length} tasks shown (the paper averages all ${TASK_LABELS.length})` : ""}.`,
    );
  return lines;
}

function zeroShotDetail(s: ZeroShotSection): string[] {
  const lines = [
    "| Task | Split | n | acc | acc_norm | reported |",
    "| --- | --- | ---: | ---: | ---: | --- |",
  ];
  for (const [t, label] of TASK_LABELS) {
    const x = s.tasks[t];
    if (x)
      lines.push(`| ${label} | ${x.split} | ${x.n} | ${pct(x.acc)} | ${pct(x.acc_norm)} | ${x.metric} |`);
  }
  lines.push("", `Average (reported metrics): ${pct(s.average)}`);
  if (s.missingTasks?.length)
    lines.push(
      `Not run (no data on the worker): ${s.missingTasks.map((t) => TASK_LABELS.find(([k]) => k === t)?.[1] ?? t).join(", ")}.`,
    );
  for (const n of s.notes) lines.push(`- Note: ${n}`);
  return lines;
}

function samplesPart(s: SamplesSection): string[] {
  const st = s.settings;
  const mode = st.doSample
    ? `sampled (temperature ${st.temperature}, top-k ${st.topK || "off"}, top-p ${st.topP}, seed ${st.seed})`
    : "greedy";
  const lines = [
    `Decoding: ${mode}, at most ${st.maxNewTokens} new tokens, ${st.bos ? "with" : "without"} BOS.`,
  ];
  for (const p of s.samples) {
    lines.push("");
    p.outputs.forEach((o, i) => {
      const tag = p.outputs.length > 1 ? `(${i + 1}) ` : "";
      lines.push(
        `> ${tag}**${cell(p.prompt)}**${cell(o.text)}`,
        `> _[${o.newTokens} tokens, ${o.finish}]_`,
        "",
      );
    });
  }
  return lines;
}

/** "k=v, ..." in key order; task files (name and sha256) go on lines of their own. */
function protocolLines(p: Record<string, unknown>): string[] {
  const { taskFiles, ...rest } = p;
  const line = Object.keys(rest)
    .sort()
    .filter((k) => rest[k] !== null && rest[k] !== undefined)
    .map((k) => `${k}=${typeof rest[k] === "string" ? rest[k] : JSON.stringify(rest[k])}`)
    .join(", ");
  const files = (
    Array.isArray(taskFiles) ? taskFiles : Object.values((taskFiles ?? {}) as Record<string, unknown>).flat()
  ) as { file: string; sha256: string }[];
  return [cell(line), ...files.map((f) => `  - \`${f.file}\` sha256 \`${f.sha256}\``)];
}

export function renderReport(r: EvaluationReport): string {
  const m = r.model;
  const lines = [
    `# Evaluation report: ${m.name}@${m.number} (${m.kind})`,
    "",
    `Model version \`${m.versionId}\`: ${m.blocks} blocks, ${formatParameters(m.parameters)} parameters${m.removedBlocks?.length ? `; blocks ${m.removedBlocks.join(", ")} of its parent removed` : ""}.`,
  ];
  const table = resultsTable(r);
  if (table.length) lines.push("", "## Results", "", ...table);
  const zs = byKind(r, "zeroshot");
  if (zs.length) {
    lines.push("", "## Zero-shot tasks");
    for (const s of zs) lines.push("", ...zeroShotDetail(s));
  }
  const gens = byKind(r, "generate");
  if (gens.length) {
    lines.push("", "## Generation examples");
    for (const s of gens) lines.push("", ...samplesPart(s));
  }
  lines.push("", "## Protocols", "");
  for (const s of r.sections) {
    const what =
      s.kind === "ppl" ? `perplexity ${s.dataset}` : s.kind === "zeroshot" ? "zero-shot" : "generation";
    const [first, ...files] = protocolLines(s.protocol);
    lines.push(`- ${what} (job \`${s.jobId}\`): ${first}`, ...files);
  }
  return `${lines.join("\n").replace(/\n{3,}/g, "\n\n")}\n`;
}

/** Writes report.json and report.md into `dir`; returns them as artifacts. */
export async function writeReport(r: EvaluationReport, dir: string): Promise<ArtifactOutput[]> {
  const json = join(dir, "report.json");
  const md = join(dir, "report.md");
  await writeFile(json, JSON.stringify(r, null, 2));
  await writeFile(md, renderReport(r));
  return [
    { name: "report.json", path: json, contentType: "application/json" },
    { name: "report.md", path: md, contentType: "text/markdown" },
  ];
}
