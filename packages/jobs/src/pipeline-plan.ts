// Expands a pipeline spec into its step jobs. Each step reads the model the step before produced
// (`job:<id>`), so the chain is fixed at submission, whatever else happens to the model meanwhile.
import { type JobSpec, jobSpecByKind, type PipelineSpec, UserError } from "@shortened/contracts";

export interface PlannedJob {
  id: string;
  spec: JobSpec;
  parentJobId: string | null;
}

export function planPipeline(spec: PipelineSpec, pipelineId: string, newId: () => string): PlannedJob[] {
  const steps: PlannedJob[] = [];
  const add = (raw: Record<string, unknown>) => {
    const id = newId();
    const schema = jobSpecByKind[raw.kind as keyof typeof jobSpecByKind];
    steps.push({ id, spec: schema.parse(raw) as JobSpec, parentJobId: pipelineId });
    return id;
  };
  let modelRef = spec.model;
  let importanceId: string | undefined;
  if (spec.importance) importanceId = add({ ...spec.importance, kind: "importance", model: modelRef });
  if (
    spec.prune.count !== undefined &&
    spec.importance &&
    spec.prune.criterion &&
    spec.prune.criterion !== spec.importance.criterion
  )
    throw new UserError("bad_request", "prune.criterion differs from importance.criterion; give one of them");
  const pruneId = add({
    kind: "prune",
    model: modelRef,
    ...(spec.prune.blocks ? { blocks: spec.prune.blocks } : { count: spec.prune.count }),
    rule: spec.prune.rule,
    ...(spec.prune.count !== undefined && importanceId ? { importanceJob: importanceId } : {}),
    ...(spec.importance
      ? {
          criterion: spec.importance.criterion,
          calibration: spec.importance.calibration,
          keepFirst: spec.importance.keepFirst,
          keepLast: spec.importance.keepLast,
        }
      : spec.prune.criterion
        ? { criterion: spec.prune.criterion }
        : {}),
  });
  modelRef = `job:${pruneId}`;
  // Evaluation runs on the merged model: an adapter alone (or CPT weights without their adapter) is not it.
  if (spec.retrain && spec.retrain.method !== "cpt" && spec.retrain.merge === false && spec.evaluate.length)
    throw new UserError(
      "bad_request",
      "retrain.merge is false but the pipeline evaluates the retrained model; evaluation needs the merged checkpoint",
    );
  if (spec.retrain) modelRef = `job:${add({ ...spec.retrain, kind: "retrain", model: modelRef })}`;
  for (const e of spec.evaluate) add({ ...e, kind: "evaluate", model: modelRef });
  return steps;
}
