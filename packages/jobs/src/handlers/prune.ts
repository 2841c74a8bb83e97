// prune: removes whole blocks, given explicitly or chosen by importance (least important first,
// the "+" order by default), and publishes the pruned checkpoint as a new version of the model.
import { join } from "node:path";
import { type Ports, type PruneSpec, UserError } from "@shortened/contracts";
import { pruneCheckpoint, readConfig } from "@shortened/hf";
import { computeImportance } from "./importance.js";
import type { Handler } from "./types.js";

interface Choice {
  remove: number[];
  criterion?: string;
  scores?: number[];
}

async function chooseBlocks(spec: PruneSpec, dir: string, ports: Ports): Promise<Choice> {
  if (spec.blocks) return { remove: spec.blocks, criterion: "explicit" };
  const count = spec.count!;
  let order: number[];
  let orderPlus: number[];
  let scores: number[] | undefined;
  let criterion = spec.criterion as string;
  if (spec.importanceJob) {
    const r = await ports.registry.jobResult(ports.context.teamId, spec.importanceJob);
    if (!r || !Array.isArray(r.order))
      throw new UserError("bad_request", `job ${spec.importanceJob} has no importance order`);
    order = r.order as number[];
    orderPlus = r.orderPlus as number[];
    scores = r.scores as number[];
    criterion = String(r.criterion ?? criterion);
  } else {
    const r = await computeImportance(spec, dir, ports, { from: 0, to: 0.8 });
    ({ order, orderPlus, scores } = r);
  }
  const candidates = spec.rule === "plus" ? orderPlus : order;
  if (count > candidates.length)
    throw new UserError(
      "invalid_blocks",
      `cannot remove ${count} blocks: only ${candidates.length} are candidates under the "${spec.rule}" rule`,
    );
  return {
    remove: candidates.slice(0, count),
    criterion: spec.rule === "plus" ? `${criterion}+` : criterion,
    scores,
  };
}

export const prune: Handler<"prune"> = async (spec, ports) => {
  const input = ports.context.input;
  const dir = await ports.checkpoints.materialize(input, ports.signal);
  const before = readConfig(dir).numHiddenLayers;
  const choice = await chooseBlocks(spec, dir, ports);
  ports.signal.throwIfAborted();
  const out = join(ports.context.workDir, "pruned");
  const r = await pruneCheckpoint({
    model: dir,
    remove: choice.remove,
    out,
    criterion: choice.criterion,
    scores: choice.scores,
    onProgress: (done: number, total: number) =>
      ports.progress.progress(0.8 + 0.2 * (total ? done / total : 1), "writing checkpoint"),
  });
  ports.progress.log(
    `prune: removed blocks ${r.removed.join(",")} (${before} -> ${r.numHiddenLayers} layers)`,
  );
  const recipe = {
    step: "prune",
    removed: r.removed,
    kept: r.kept,
    criterion: choice.criterion ?? null,
    rule: spec.blocks ? null : spec.rule,
    layersBefore: before,
    layersAfter: r.numHiddenLayers,
    ...(spec.importanceJob ? { importanceJob: spec.importanceJob } : {}),
    ...(choice.scores ? { scores: choice.scores } : {}),
  };
  return {
    artifacts: [],
    metrics: [],
    version: { dir: out, kind: "pruned", parentId: input.id, recipe, config: readConfig(out).raw },
    summary: {
      removed: r.removed,
      kept: r.kept,
      numHiddenLayers: r.numHiddenLayers,
      criterion: choice.criterion ?? null,
    },
  };
};
