// A study's plan: which child jobs it needs, given what its children have made so far. Importance once per
// criterion, one prune job per distinct set of removed blocks (criteria that pick the same blocks share it),
// one retrain job per pruned version and method, one evaluate job per model version (the dense model, each
// pruned and each retrained one) and evaluation. Children are recognised by their spec, so a study that
// runs again (the next phase, a retry, another worker after a crash) starts only what is missing.
import { type JobSpec, jobSpecByKind, type StepInfo, type StudySpec, UserError } from "@shortened/contracts";

/** The blocks a study removes per criterion: count = round(ratio x blocks), or the counts given. */
export function studyCounts(spec: StudySpec, layers: number): number[] {
  const counts = spec.counts ?? spec.ratios!.map((r) => Math.round(r * layers));
  for (const [i, c] of counts.entries())
    if (c < 1)
      throw new UserError(
        "invalid_blocks",
        `ratio ${spec.ratios?.[i]} of ${layers} blocks removes no block (count = round(ratio x blocks))`,
        422,
      );
  return [...new Set(counts)].sort((a, b) => a - b);
}

/** JSON with sorted keys: a spec read back from the database (jsonb reorders keys) compares equal. */
export function stableKey(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(stableKey).join(",")}]`;
  if (x && typeof x === "object")
    return `{${Object.keys(x)
      .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableKey((x as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(x);
}

const parsed = (raw: Record<string, unknown>) =>
  jobSpecByKind[raw.kind as keyof typeof jobSpecByKind].parse(raw) as JobSpec & Record<string, unknown>;

export interface StudyCell {
  criterion: string;
  count: number;
  method: string;
  /** blocks removed, ascending */
  removed: number[];
  importanceJob?: string;
  pruneJob?: string;
  retrainJob?: string;
  versionId?: string;
  /** evaluate children of this cell's version, in the order of the study's evaluate list */
  evaluateJobs: (StepInfo | undefined)[];
}

export interface StudyPlan {
  /** children to start now (their inputs are ready and no child has their spec) */
  spawn: Record<string, unknown>[];
  /** children the plan needs that have not succeeded (open or about to be started) */
  pending: number;
  dense: { versionId: string; evaluateJobs: (StepInfo | undefined)[] };
  cells: StudyCell[];
  importance: Record<string, StepInfo | undefined>;
}

/** Fields every child shares with the study. */
const runtime = (s: StudySpec) => ({
  ...(s.device ? { device: s.device } : {}),
  ...(s.threads ? { threads: s.threads } : {}),
});

export function planStudy(spec: StudySpec, baseId: string, children: StepInfo[]): StudyPlan {
  const byKey = new Map<string, StepInfo>();
  for (const c of children) if (c.spec) byKey.set(stableKey(parsed(c.spec)), c);
  const spawn = new Map<string, Record<string, unknown>>();
  let pending = 0;
  /** The child with this spec: succeeded → it; otherwise counted as pending (and started if missing). */
  const need = (raw: Record<string, unknown>): StepInfo | undefined => {
    const s = parsed(raw);
    const key = stableKey(s);
    const found = byKey.get(key);
    if (found?.state === "succeeded") return found;
    pending++;
    if (!found) spawn.set(key, s);
    return undefined;
  };
  const evaluations = (versionId: string) =>
    spec.evaluate.map((e) => need({ ...e, ...runtime(spec), kind: "evaluate", model: versionId }));

  const dense = { versionId: baseId, evaluateJobs: evaluations(baseId) };
  const importance: Record<string, StepInfo | undefined> = {};
  const cells: StudyCell[] = [];
  // Blocks of the model: from the dense evaluations or any importance result (reverse needs no scores).
  const blocksOf = (s: StepInfo | undefined) =>
    ((s?.result?.report as { model?: { blocks?: number } } | undefined)?.model?.blocks ??
      (s?.result?.scores as number[] | undefined)?.length) as number | undefined;
  const denseLayers = () => dense.evaluateJobs.map(blocksOf).find((n) => n !== undefined);
  const importanceSpec = (criterion: string, group?: number) => ({
    kind: "importance",
    model: baseId,
    criterion,
    calibration: spec.calibration,
    keepFirst: spec.keepFirst,
    keepLast: spec.keepLast,
    batchSize: spec.batchSize,
    ...(group !== undefined ? { group } : {}),
    ...runtime(spec),
  });
  for (const criterion of spec.criteria) {
    if (criterion === "reverse") {
      const layers = denseLayers();
      if (layers === undefined) {
        pending++;
        continue;
      }
      const orderPlus = reverseOrder(layers, spec.keepFirst, spec.keepLast);
      importance[criterion] = {
        id: "",
        kind: "importance",
        state: "succeeded",
        reason: null,
        outputVersionId: null,
        result: { scores: Array.from({ length: layers }, (_, i) => layers - i), orderPlus },
      };
      addCells(criterion, undefined, layers, (count) => orderPlus.slice(0, count), orderPlus.length);
      continue;
    }
    if (criterion === "angular-band") {
      // One angular importance job per band width n = count: its best allowed start l removes [l, l + n).
      const layers = spec.counts ? undefined : denseLayers();
      const counts = spec.counts
        ? studyCounts(spec, 0)
        : layers !== undefined
          ? studyCounts(spec, layers)
          : [];
      if (!spec.counts && layers === undefined) {
        pending++;
        continue;
      }
      for (const count of counts) {
        const imp = need(importanceSpec("angular", count));
        if (!importance[criterion]) importance[criterion] = imp;
        const starts = imp?.result?.orderPlus as number[] | undefined;
        if (!starts) continue;
        const blocks = (imp!.result!.scores as number[]).length + count - 1;
        if (!starts.length)
          throw new UserError(
            "invalid_blocks",
            `angular-band: no band of ${count} contiguous blocks fits between the first ${spec.keepFirst} and the last ${spec.keepLast} of ${blocks} blocks`,
          );
        const band = Array.from({ length: count }, (_, k) => starts[0]! + k);
        addCells(criterion, imp, blocks, () => band, Number.POSITIVE_INFINITY, [count]);
      }
      continue;
    }
    const imp = need(importanceSpec(criterion));
    importance[criterion] = imp;
    const orderPlus = imp?.result?.orderPlus as number[] | undefined;
    // The counts are known once the blocks are (ratios are shares of them).
    if (orderPlus)
      addCells(criterion, imp, blocksOf(imp)!, (count) => orderPlus.slice(0, count), orderPlus.length);
  }
  return { spawn: [...spawn.values()], pending, dense, cells, importance };

  function addCells(
    criterion: string,
    imp: StepInfo | undefined,
    layers: number,
    removedFor: (count: number) => number[],
    candidates: number,
    counts = studyCounts(spec, layers),
  ) {
    for (const count of counts) {
      if (count > candidates)
        throw new UserError(
          "invalid_blocks",
          `count ${count}: the "+" rule leaves ${candidates} of ${layers} blocks (keepFirst ${spec.keepFirst}, keepLast ${spec.keepLast})`,
        );
      const removed = [...removedFor(count)].sort((a, b) => a - b);
      const prune = need({ kind: "prune", model: baseId, blocks: removed, ...runtime(spec) });
      const pruned = prune?.outputVersionId ?? undefined;
      for (const r of spec.retrain) {
        const cell: StudyCell = {
          criterion,
          count,
          method: studyMethodLabel(r),
          removed,
          importanceJob: imp?.id,
          pruneJob: prune?.id,
          evaluateJobs: [],
        };
        if (pruned && r.method === "none") cell.versionId = pruned;
        else if (pruned) {
          const retrain = need({ ...r, kind: "retrain", model: pruned });
          cell.retrainJob = retrain?.id;
          cell.versionId = retrain?.outputVersionId ?? undefined;
        }
        if (cell.versionId) cell.evaluateJobs = evaluations(cell.versionId);
        cells.push(cell);
      }
    }
  }
}

/** A study's name for a retraining method: the method, "+kd" when it distills from the unpruned model. */
export function studyMethodLabel(r: { method: string; distill?: unknown }): string {
  return r.distill ? `${r.method}+kd` : r.method;
}

/** The "reverse" baseline: the deepest removable block first, never the first keepFirst or last keepLast. */
export function reverseOrder(layers: number, keepFirst: number, keepLast: number): number[] {
  const order: number[] = [];
  for (let b = layers - 1 - keepLast; b >= keepFirst; b--) order.push(b);
  return order;
}

/**
 * What a study's children will be, as far as submission can tell (blocks are chosen later): the checks of
 * prune, retrain and evaluate jobs run on these. Methods must share one token budget, and evaluation needs
 * merged checkpoints.
 */
export function studyCheckRows(spec: StudySpec, layers: number | undefined): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  if (layers !== undefined)
    for (const count of studyCounts(spec, layers))
      rows.push({ kind: "prune", count, rule: "plus", keepFirst: spec.keepFirst, keepLast: spec.keepLast });
  rows.push({ kind: "importance", calibration: spec.calibration });
  const trained = spec.retrain.filter((r) => r.method !== "none");
  const methods = spec.retrain.map(studyMethodLabel);
  const twice = methods.find((m, i) => methods.indexOf(m) !== i);
  if (twice) throw new UserError("bad_request", `retrain: method ${twice} is listed twice`, 422);
  if (spec.retrain.some((r) => r.method === "none" && r.distill))
    throw new UserError("bad_request", "retrain: method none trains nothing, so it cannot distill", 422);
  const budget = (r: (typeof trained)[number]) => r.steps * r.batch * r.gradAccum * r.seqLen;
  const data = (r: (typeof trained)[number]) => stableKey(r.data);
  for (const r of trained) {
    if (budget(r) !== budget(trained[0]!) || data(r) !== data(trained[0]!))
      throw new UserError(
        "bad_request",
        `retrain: every method trains on the same tokens (the paper's comparison): ${r.method} has ${r.steps} steps x ${r.batch} x ${r.gradAccum} rows of ${r.seqLen} tokens${data(r) !== data(trained[0]!) ? " and other data" : ""}, ${trained[0]!.method} ${trained[0]!.steps} x ${trained[0]!.batch} x ${trained[0]!.gradAccum} of ${trained[0]!.seqLen}`,
        422,
      );
    if (r.method !== "cpt" && r.method !== "partial" && !r.merge)
      throw new UserError(
        "bad_request",
        `retrain: ${r.method} with merge false: a study evaluates merged checkpoints`,
        422,
      );
    rows.push({ ...r, kind: "retrain" });
  }
  for (const e of spec.evaluate) rows.push({ ...e, kind: "evaluate" });
  return rows;
}
