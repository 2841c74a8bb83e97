// prune: removes whole blocks, given explicitly or chosen by importance (least important first,
// the "+" order by default), and publishes the pruned checkpoint as a new version of the model.
import { join } from "node:path";
import { type Ports, type PruneSpec, UserError } from "@shortened/contracts";
import { plusOrder } from "@shortened/engine";
import { pruneCheckpoint, readConfig } from "@shortened/hf";
import { computeImportance } from "./importance.js";
import type { Handler } from "./types.js";

interface Choice {
  remove: number[];
  /** the criterion's name (absent for explicit blocks), as pruning.json and the config record it */
  criterion?: string;
  scores?: number[];
}

/** The one block chooser (jobs, pipelines and the CLI's `prune --criterion`): explicit blocks, or the first
 *  `count` of the importance order ("+" rule by default); with angular groups (group > 1) the best group of
 *  `group` contiguous blocks. Every check on the count runs before importance is computed. */
async function chooseBlocks(spec: PruneSpec, dir: string, ports: Ports): Promise<Choice> {
  if (spec.blocks) return { remove: spec.blocks };
  const count = spec.count!;
  const group = spec.importanceJob ? 1 : spec.group;
  const L = readConfig(dir).numHiddenLayers;
  const starts = Array.from({ length: Math.max(0, L - group + 1) }, (_, i) => i);
  const candidates = (
    spec.rule === "plus" ? plusOrder(starts, L, spec.keepFirst, spec.keepLast, group) : starts
  ).length;
  if (group > 1 && count !== group)
    throw new UserError(
      "invalid_blocks",
      `with \`group\` ${group} the removal is one group: \`count\` must be ${group}`,
    );
  if ((group === 1 && count > candidates) || (group > 1 && candidates === 0))
    throw new UserError(
      "invalid_blocks",
      spec.rule === "plus"
        ? `\`count\` ${count}: only ${candidates} of ${L} blocks may be removed (\`keepFirst\` ${spec.keepFirst} \`keepLast\` ${spec.keepLast})`
        : `\`count\` ${count}: the model has ${L} blocks`,
    );
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
  const ranked = spec.rule === "plus" ? orderPlus : order;
  if (count > ranked.length)
    throw new UserError(
      "invalid_blocks",
      `cannot remove ${count} blocks: only ${ranked.length} are candidates under the "${spec.rule}" rule`,
    );
  const remove = group > 1 ? Array.from({ length: group }, (_, k) => ranked[0]! + k) : ranked.slice(0, count);
  return { remove, criterion, scores };
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
  for (const w of r.warnings) ports.progress.log(`prune: warning: ${w}`);
  // The recipe names the rule with the criterion ("ppl+": the "+" order), as the registry shows it.
  const named = choice.criterion ? `${choice.criterion}${spec.rule === "plus" ? "+" : ""}` : "explicit";
  const recipe = {
    step: "prune",
    removed: r.removed,
    kept: r.kept,
    criterion: named,
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
      criterion: named,
      warnings: r.warnings,
      ...(choice.scores ? { scores: choice.scores } : {}),
    },
  };
};
