// What the job page derives from a job, its steps and its event stream: the training curve, the state
// timeline, and the importance with the blocks the prune step removed.
import type { StudyPoint, TrainPoint } from "../charts/specs.js";
import {
  eventText,
  isProgress,
  type Job,
  type JobEvent,
  objectOf,
  type ProgressData,
  resultOf,
} from "../lib/types.js";

/** Every training step in the stream (a step repeated by a resumed attempt counts once, the last time). */
export function trainingPoints(events: JobEvent[]): TrainPoint[] {
  const byKey = new Map<string, TrainPoint>();
  for (const e of events) {
    const d = e.data;
    if (e.type !== "progress" || !isProgress(d)) continue;
    if (d.loss === undefined || d.step === undefined) continue;
    const phase = d.phase ?? "train";
    byKey.set(`${e.jobId ?? ""}/${phase}/${d.step}`, {
      step: d.step,
      phase,
      loss: d.loss,
      lr: d.lr ?? 0,
      gradNorm: d.gradNorm ?? 0,
      tokensPerS: d.tokensPerS ?? 0,
      ...(d.kdLoss !== undefined ? { kdLoss: d.kdLoss, ceLoss: d.ceLoss } : {}),
    });
  }
  return [...byKey.values()];
}

export interface TimelineEntry {
  at: string;
  what: string;
  jobId?: string;
}

/** State changes and attempt starts of the job itself, in order. */
export function timeline(events: JobEvent[], jobId: string): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const e of events) {
    if (e.jobId && e.jobId !== jobId) continue;
    if (e.type === "state") {
      const reason = eventText(e, "reason");
      out.push({ at: e.createdAt, what: `${eventText(e, "state")}${reason ? `: ${reason}` : ""}` });
    } else if (e.type === "log" && /^attempt \d+ started/.test(eventText(e, "line"))) {
      out.push({ at: e.createdAt, what: eventText(e, "line") });
    }
  }
  return out;
}

export interface ImportanceView {
  criterion: string;
  scores: number[];
  keepFirst: number;
  keepLast: number;
  plus: boolean;
  removed: number[];
  order?: number[];
}

/** The importance shown on a job's page: its own, or its pipeline's importance and prune steps'. */
export function importanceView(job: Job, steps: Job[]): ImportanceView | null {
  const all = [job, ...steps];
  const imp = all.find((j) => j.kind === "importance" && j.state === "succeeded" && resultOf(j).scores);
  const prune = all.find((j) => j.kind === "prune" && j.state === "succeeded");
  const impResult = resultOf(imp);
  const pruneResult = resultOf(prune) as { removed?: number[]; criterion?: string; scores?: number[] };
  const scores = (impResult.scores as number[] | undefined) ?? pruneResult.scores;
  if (!scores) return null;
  const impSpec = (imp?.spec ?? (job.kind === "pipeline" ? job.spec.importance : undefined) ?? {}) as {
    keepFirst?: number;
    keepLast?: number;
  };
  const pruneSpec = (prune?.spec ?? {}) as { rule?: string; keepFirst?: number; keepLast?: number };
  return {
    criterion: String(impResult.criterion ?? pruneResult.criterion ?? "importance"),
    scores,
    keepFirst: impSpec.keepFirst ?? pruneSpec.keepFirst ?? 0,
    keepLast: impSpec.keepLast ?? pruneSpec.keepLast ?? 0,
    plus: (pruneSpec.rule ?? "plus") === "plus",
    removed: pruneResult.removed ?? [],
    order: impResult.orderPlus as number[] | undefined,
  };
}

/** The latest structured progress of a running job (or step): step, total, ETA. */
export function latestProgress(events: JobEvent[], jobId: string): ProgressData | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === "progress" && (e.jobId ?? jobId) === jobId && isProgress(e.data)) return e.data;
  }
  return null;
}

/** A study's result as chart points: the first perplexity measured, per cell (null when there is none). */
export function studyView(job: Job): {
  dataset: string;
  points: StudyPoint[];
  dense: number | null;
  cells: { criterion: string; count: number; removed: number[]; method: string; ppl: number | null }[];
} | null {
  const r = objectOf(job.result);
  if (job.kind !== "study" || !Array.isArray(r.cells)) return null;
  type Cell = { criterion: string; count: number; ratio: number; removed: number[]; method: string };
  const cells = r.cells as (Cell & { metrics: Record<string, { value: number }> })[];
  const names = cells.flatMap((c) => Object.keys(c.metrics ?? {}));
  const metric = names.find((n) => n.startsWith("ppl_"));
  const ppl = (m: Record<string, { value: number }> | undefined): number | null =>
    metric === undefined ? null : (m?.[metric]?.value ?? null);
  return {
    dataset: metric ? metric.slice(4) : "",
    dense: ppl(objectOf(r.dense).metrics as Record<string, { value: number }> | undefined),
    points: cells
      .filter((c) => ppl(c.metrics) !== null)
      .map((c) => ({ criterion: c.criterion, method: c.method, ratio: c.ratio, ppl: ppl(c.metrics)! })),
    cells: cells.map((c) => ({ ...c, ppl: ppl(c.metrics) })),
  };
}
