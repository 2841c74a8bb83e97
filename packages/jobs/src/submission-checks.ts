// What the registry already knows, checked when a job is submitted rather than when a worker fails on it:
// blocks and counts against the input model's layers, LoRA targets against its projections, token ids
// against its vocabulary, sequence lengths against its positions, and artifact keys and importance jobs
// against the submitting team. Every refusal is a 400/422 with the reason; nothing is stored.
import type { PrismaClient } from "@shortened/adapters";
import {
  loraTargetNames,
  type QuantizeCalibration,
  quantizeCalibration,
  UserError,
  type zeroShotTaskNames,
} from "@shortened/contracts";
import { missingTaskLine, tasksWithData } from "@shortened/hf";
import { zeroShotDataDir } from "./handlers/evaluate-zeroshot.js";

/** The facts of the input version's config that a spec is checked against (absent facts are not checked). */
export interface ModelFacts {
  layers?: number;
  vocabSize?: number;
  maxPositions?: number;
  modelType?: string;
  /** the version is a GPTQ checkpoint (quantization_config) */
  quantized?: boolean;
}

export function modelFacts(config: unknown): ModelFacts {
  const c = (config ?? {}) as Record<string, unknown>;
  const raw = (c.raw ?? {}) as Record<string, unknown>;
  const int = (v: unknown) => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : undefined);
  return {
    layers: int(c.numHiddenLayers ?? raw.num_hidden_layers),
    vocabSize: int(c.vocabSize ?? raw.vocab_size),
    maxPositions: int(raw.max_position_embeddings),
    modelType: typeof c.modelType === "string" ? c.modelType : undefined,
    quantized: (c.quantization ?? c.quantization_config ?? raw.quantization_config ?? null) !== null,
  };
}

/** Phi-3 fuses q/k/v and gate/up into one projection each. */
const fusedTargets = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"];
const targetsOf = (m: ModelFacts): readonly string[] =>
  m.modelType === "phi3" ? fusedTargets : loraTargetNames;

const refuse = (code: "invalid_blocks" | "bad_request" | "invalid_data", message: string) =>
  new UserError(code, message, 422);

type Spec = Record<string, unknown>;

function checkBlocks(spec: Spec, m: ModelFacts, where: string): void {
  const blocks = spec.blocks as number[] | undefined;
  const count = spec.count as number | undefined;
  if (m.layers === undefined) return;
  const L = m.layers;
  if (blocks) {
    const out = blocks.filter((b) => b >= L);
    if (out.length)
      throw refuse(
        "invalid_blocks",
        `${where}blocks ${out.join(", ")} out of range: the model has ${L} blocks (0..${L - 1})`,
      );
    const dup = blocks.filter((b, i) => blocks.indexOf(b) !== i);
    if (dup.length) throw refuse("invalid_blocks", `${where}block ${dup[0]} is listed twice`);
    if (blocks.length >= L)
      throw refuse("invalid_blocks", `${where}removing all ${L} blocks leaves no model: keep at least one`);
  }
  if (count !== undefined) {
    if (count >= L)
      throw refuse(
        "invalid_blocks",
        `${where}count ${count} is too large: the model has ${L} blocks, so at most ${L - 1} can go`,
      );
    // Under the "+" rule the candidates exclude the first and last blocks (an importance job's own order
    // has its own keepFirst/keepLast, checked when it ran).
    const keep = ((spec.keepFirst as number | undefined) ?? 4) + ((spec.keepLast as number | undefined) ?? 2);
    if (spec.rule !== "plain" && !spec.importanceJob && keep < L && count > L - keep)
      throw refuse(
        "invalid_blocks",
        `${where}count ${count} is too large: the model has ${L} blocks and the "+" rule keeps ${keep} (keepFirst + keepLast), so at most ${L - keep} can go`,
      );
  }
}

/** The calibration a job will read: quantize's size defaults depend on its source (quantizeCalibration). */
function calibrationOf(spec: Spec): { seqLen?: number } | undefined {
  const c = spec.calibration as QuantizeCalibration | undefined;
  return spec.kind === "quantize" && c ? quantizeCalibration(c) : c;
}

function checkSeqLen(spec: Spec, m: ModelFacts, where: string): void {
  if (m.maxPositions === undefined) return;
  const lens: [string, unknown][] = [
    ["seqLen", spec.seqLen],
    ["calibration.seqLen", calibrationOf(spec)?.seqLen],
  ];
  for (const [name, v] of lens)
    if (typeof v === "number" && v > m.maxPositions)
      throw refuse("bad_request", `${where}${name} ${v} is beyond the model's ${m.maxPositions} positions`);
}

function checkRetrain(spec: Spec, m: ModelFacts, where: string): void {
  if (spec.steps !== undefined && spec.epochs !== undefined)
    throw refuse("bad_request", `${where}give steps or epochs, not both`);
  if (spec.initAdapter !== undefined && spec.method === "cpt")
    throw refuse("bad_request", `${where}initAdapter needs a LoRA phase (method lora or cpt+lora)`);
  const targets = spec.targets as string[] | undefined;
  const known = targetsOf(m);
  const unknown = (targets ?? []).filter((t) => !known.includes(t));
  if (unknown.length)
    throw refuse(
      "bad_request",
      `${where}unknown LoRA target ${unknown.join(", ")}: this model has ${known.join(", ")}`,
    );
  const data = spec.data as Spec | undefined;
  if (!data) return;
  if (Array.isArray(data.ids) && m.vocabSize !== undefined)
    for (const row of data.ids as number[][])
      for (const id of row)
        if (id >= m.vocabSize)
          throw refuse(
            "invalid_data",
            `${where}data.ids: token id ${id} is beyond the vocabulary (${m.vocabSize} tokens)`,
          );
}

/** A zero-shot task list names only tasks whose data is here (no list: those present run, the rest are named). */
function checkZeroShotTasks(spec: Spec, where: string): void {
  const listed = spec.tasks as (typeof zeroShotTaskNames)[number][] | undefined;
  if (spec.task !== "zeroshot" || !listed) return;
  // a task given a file of the team (taskFiles) needs no shipped data
  const own = (spec.taskFiles ?? {}) as Record<string, string>;
  const tasks = listed.filter((t) => own[t] === undefined);
  const dataDir = zeroShotDataDir();
  const { missing } = tasksWithData(dataDir, tasks);
  if (missing.length)
    throw refuse(
      "bad_request",
      `${where}no data for zero-shot task ${missing.map(missingTaskLine).join(", ")} in ${dataDir}; leave tasks out to run every task whose data is present`,
    );
}

/** An artifact-store key a job may read: the team's own, with no `..` segment. */
export function checkArtifactKey(key: string, teamId: string, what: string): void {
  if (key.split("/").some((p) => p === ".." || p === ".") || key.includes("\\") || key.startsWith("/"))
    throw refuse("bad_request", `${what}: ${key} is not a plain artifact key (no "..", "." or leading "/")`);
  if (!key.startsWith(`teams/${teamId}/`))
    throw refuse(
      "bad_request",
      `${what}: ${key} is not an artifact of this team (keys start with teams/${teamId}/)`,
    );
}

/** The artifact keys a spec reads (training data, calibration text), with where they are in the spec. */
function artifactKeys(spec: Spec): [key: string, where: string][] {
  const keys: [string, string][] = [];
  const data = (spec.data as Spec | undefined)?.artifact;
  if (typeof data === "string") keys.push([data, "data.artifact"]);
  const calibration = (spec.calibration as Spec | undefined)?.artifact;
  if (typeof calibration === "string") keys.push([calibration, "calibration.artifact"]);
  // evaluate: a ppl input file, zero-shot task files
  if (typeof spec.artifact === "string") keys.push([spec.artifact, "artifact"]);
  for (const [task, key] of Object.entries((spec.taskFiles ?? {}) as Record<string, string>))
    keys.push([key, `taskFiles.${task}`]);
  return keys;
}

/**
 * Says whether an object is in the artifact store: true or false, or undefined when the store cannot be
 * asked now (an outage must not block submissions: the job then fails on it with the store's reason).
 */
export type ArtifactExists = (key: string) => Promise<boolean | undefined>;

/**
 * Checks every job of a submission (a job, or a pipeline and its steps) against its input model. Steps read
 * the input's vocabulary and positions (pruning keeps both) and prune the input's blocks.
 */
export async function checkSubmission(
  db: PrismaClient,
  teamId: string,
  config: unknown,
  rows: { id: string; spec: Spec }[],
  exists?: ArtifactExists,
): Promise<void> {
  const m = modelFacts(config);
  const ids = new Set(rows.map((r) => r.id));
  for (const [i, { spec }] of rows.entries()) {
    const where = i === 0 ? "" : `${String(spec.kind)} step: `;
    checkSeqLen(spec, m, where);
    if (spec.kind === "prune") {
      checkBlocks(spec, m, where);
      const imp = spec.importanceJob as string | undefined;
      if (imp && !ids.has(imp)) {
        const job = /^[0-9a-f-]{36}$/i.test(imp)
          ? await db.job.findFirst({ where: { teamId, id: imp }, select: { kind: true } })
          : null;
        if (!job)
          throw new UserError("not_found", `${where}importanceJob: no job "${imp}" in this team`, 404);
        if (job.kind !== "importance")
          throw refuse(
            "bad_request",
            `${where}importanceJob: job ${imp} is a ${job.kind} job, not an importance job`,
          );
      }
    }
    if (spec.kind === "retrain") checkRetrain(spec, m, where);
    if (spec.kind === "evaluate") checkZeroShotTasks(spec, where);
    if (spec.kind === "quantize" && m.quantized)
      throw refuse("bad_request", `${where}the model is already quantized (GPTQ); quantize its float parent`);
    for (const [key, what] of artifactKeys(spec)) {
      checkArtifactKey(key, teamId, `${where}${what}`);
      if ((await exists?.(key)) === false)
        throw refuse("invalid_data", `${where}${what}: no artifact ${key} in this team's store`);
    }
  }
}
