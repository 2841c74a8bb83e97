// Knowledge distillation as an option of CPT and LoRA (the oracle's kd-train; Minitron / Model Optimizer):
// the step objective is α·τ²·ΣKL_t/n + (1 − α)·ΣNLL_t/n over the step's valid targets (the KD positions are the
// CE positions, Megatron's loss mask), with KL_t = Σ_v p_T,v (log p_T,v − log p_S,v), p = softmax(z/τ). With
// top-K the teacher keeps its K largest logits renormalised, and the student's full-vocabulary log-softmax is
// gathered at those K ids. The KL is built from LogSoftmax, GatherElements, Exp, Sub, Mul and ReduceSum, whose
// gradients the autodiff already has; the teacher's log-probabilities are graph inputs without gradient.
import { UserError } from "@shortened/contracts";
import type { Checkpoint, ModelConfig } from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";
import type { SessionOptions } from "../graph/session.js";
import { openCheckpoint } from "../models/weights.js";
import type { TrainRows } from "./data.js";
import { CachedTeacher } from "./distill-cache.js";
import { LiveTeacher } from "./teacher-targets.js";
import type { TeacherSource } from "./trainer.js";

export interface DistillOptions {
  /** the teacher model (folder or opened checkpoint) */
  teacher: string | Checkpoint;
  /** weight of the KD term; 1 − alpha weighs the cross-entropy (default 1: pure distillation) */
  alpha?: number;
  /** softmax temperature τ of both distributions (default 1) */
  temperature?: number;
  /** keep only the teacher's K most likely tokens per position (default: the full vocabulary) */
  topK?: number | null;
  /** names the teacher in the run fingerprint instead of its folder (e.g. a registry version id) */
  teacherKey?: string;
  /** top-K only: the teacher's top-K cache of these rows (buildTeacherCache, ./distill-cache.ts); the targets
   *  are read from it, verified by its checksum, and the teacher is not loaded while the student trains */
  cache?: string;
}

export interface ResolvedDistill {
  teacher: Checkpoint;
  alpha: number;
  temperature: number;
  topK: number | null;
  teacherKey: string;
  cache?: string;
}

/** Checks the options and the teacher against the student before any compute. */
export function resolveDistill(student: ModelConfig, d: DistillOptions): ResolvedDistill {
  const alpha = d.alpha ?? 1;
  const temperature = d.temperature ?? 1;
  const topK = d.topK ?? null;
  if (!(alpha >= 0 && alpha <= 1))
    throw new UserError("bad_request", `distillation \`alpha\` must be in [0, 1] (got ${alpha})`);
  if (!(temperature > 0) || !Number.isFinite(temperature))
    throw new UserError("bad_request", `distillation \`temperature\` must be > 0 (got ${temperature})`);
  const teacher = openCheckpoint(d.teacher);
  const tv = teacher.config.vocabSize;
  if (tv !== student.vocabSize) {
    throw new UserError(
      "bad_request",
      `the teacher ${teacher.dir} has a vocabulary of ${tv} tokens and the student ${student.vocabSize}: ` +
        "distillation compares their next-token distributions token by token, so both need the same vocabulary",
    );
  }
  if (topK !== null && (!Number.isInteger(topK) || topK < 1 || topK > tv))
    throw new UserError("bad_request", `distillation \`topK\` must be an integer in 1..${tv} (got ${topK})`);
  if (d.cache !== undefined && topK === null)
    throw new UserError("bad_request", "a teacher cache holds top-K logits: it needs distillation `topK`");
  return { teacher, alpha, temperature, topK, teacherKey: d.teacherKey ?? teacher.dir, cache: d.cache };
}

/** What identifies the distillation in a run fingerprint. */
export function distillKey(d: ResolvedDistill): Record<string, unknown> {
  return { teacher: d.teacherKey, alpha: d.alpha, temperature: d.temperature, topK: d.topK };
}

/** The protocol stored with a distilled run's metrics and record. */
export function distillProtocol(d: ResolvedDistill): Record<string, unknown> {
  return { teacher: d.teacherKey, alpha: d.alpha, temperature: d.temperature, topK: d.topK };
}

/**
 * Σ_t mask_t · KL_t of one micro-batch, from the student's logits [B, T, V] and the graph inputs kd_logp
 * [B, T, K] (and kd_ids [B, T, K] with top-K). Returns the scalar's value name.
 */
export function kdSum(
  g: GraphBuilder,
  logits: string,
  mask: string,
  temperature: number,
  topK: number | null,
  vocab: number,
): string {
  const k = topK ?? vocab;
  const logp = g.input("kd_logp", "float32", ["batch", "seq", k]);
  const scaled = temperature === 1 ? logits : g.node("Div", [logits, g.scalar(temperature)]);
  let student = g.node("LogSoftmax", [scaled], { axis: -1 });
  if (topK !== null) {
    const ids = g.input("kd_ids", "int64", ["batch", "seq", k]);
    student = g.node("GatherElements", [student, ids], { axis: 2 });
  }
  const p = g.node("Exp", [logp]);
  const kl = g.node("ReduceSum", [g.node("Mul", [p, g.node("Sub", [logp, student])]), g.int64s([2])], {
    keepdims: 0,
  });
  return g.node("ReduceSum", [g.node("Mul", [kl, mask])], { keepdims: 0 });
}

/** The teacher in a training run's memory plan: none when its targets come from a cache. */
export function plannedTeacher(
  d: ResolvedDistill | undefined,
): { config: ModelConfig; topK: number | null } | undefined {
  return d && !d.cache ? { config: d.teacher.config, topK: d.topK } : undefined;
}

/** The trainer's view of a distillation: the graph's settings and the opener of the teacher (live, or its
 *  cache for these rows). */
export function distillTraining(
  d: ResolvedDistill | undefined,
  opts: SessionOptions,
  rows: Pick<TrainRows, "ids">,
): {
  kd?: { alpha: number; temperature: number; topK: number | null };
  teacher?: () => Promise<TeacherSource>;
} {
  if (!d) return {};
  return {
    kd: { alpha: d.alpha, temperature: d.temperature, topK: d.topK },
    teacher: d.cache
      ? async () =>
          CachedTeacher.open(
            d.cache!,
            { k: d.topK!, vocab: d.teacher.config.vocabSize, lengths: rows.ids.map((r) => r.length) },
            d.temperature,
          )
      : () => LiveTeacher.open(d.teacher, d.temperature, d.topK, opts),
  };
}
