// The teacher of a distilled retraining: the version the spec names, or by default the nearest unpruned
// ancestor of the input in its lineage (the model before the first pruning above it), which the service
// already holds for every pruned model. With top-K its targets come from a cache in the artifact store
// (./retrain-teacher-cache.ts).
import {
  type DistillSpec,
  type Ports,
  type RetrainSpec,
  UserError,
  type VersionInfo,
} from "@shortened/contracts";
import { type DistillOptions, openCheckpoint } from "@shortened/engine";
import { teacherCachePath } from "./retrain-teacher-cache.js";

export interface TeacherOptions {
  version: VersionInfo;
  /** its local folder */
  dir: string;
  vocab: number;
  /** the engine's distillation options (`cache`: where the top-K cache will be, once ensured) */
  options: DistillOptions;
}

/** The teacher of a distilled spec, materialized, with the engine's options; undefined without `distill`. */
export async function distillTeacher(spec: RetrainSpec, ports: Ports): Promise<TeacherOptions | undefined> {
  const version = await resolveTeacher(spec, ports);
  if (!version) return undefined;
  const dir = await ports.checkpoints.materialize(version, ports.signal);
  const d = spec.distill!;
  ports.progress.log(
    `retrain: distilling from ${version.modelName}@${version.number} (alpha ${d.alpha}, temperature ${d.temperature}, ${d.topK ? `top-${d.topK}` : "full vocabulary"})`,
  );
  return {
    version,
    dir,
    vocab: openCheckpoint(dir).config.vocabSize,
    options: {
      teacher: dir,
      alpha: d.alpha,
      temperature: d.temperature,
      topK: d.topK,
      teacherKey: version.id,
      ...(d.topK ? { cache: teacherCachePath(ports.context.workDir) } : {}),
    },
  };
}

export async function resolveTeacher(spec: RetrainSpec, ports: Ports): Promise<VersionInfo | undefined> {
  if (!spec.distill) return undefined;
  const { teamId, input } = ports.context;
  if (spec.distill.teacher) return ports.registry.resolveVersion(teamId, spec.distill.teacher);
  let v = input;
  let pruned = false;
  const seen = new Set<string>();
  for (;;) {
    if (v.kind === "pruned") pruned = true;
    else if (pruned) return v;
    if (!v.parentId || seen.has(v.id)) break;
    seen.add(v.id);
    v = await ports.registry.resolveVersion(teamId, v.parentId);
  }
  throw new UserError(
    "bad_request",
    `${input.modelName}@${input.number} has no unpruned ancestor below a pruned version in its lineage: ` +
      "name the teacher in `distill.teacher`",
  );
}

/** The teacher and settings, as recorded in the recipe, the metrics' protocol and the job summary. */
export function teacherRecord(teacher: VersionInfo, d: DistillSpec): Record<string, unknown> {
  return {
    teacherVersionId: teacher.id,
    teacher: `${teacher.modelName}@${teacher.number}`,
    alpha: d.alpha,
    temperature: d.temperature,
    topK: d.topK,
  };
}
