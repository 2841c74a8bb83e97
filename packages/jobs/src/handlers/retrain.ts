// retrain: LoRA adapters on frozen weights, continued pretraining (CPT) of all weights, or CPT then LoRA,
// on the job's input version (usually a pruned one). Resumable: the engine saves its training state every
// `checkpointEvery` steps and each save is copied to the checkpoint store (S3 in service mode) before
// training goes on, so a retried job, or one taken over from a dead worker, continues from there. The
// output is one new version: the merged checkpoint (kind "merged") when `merge`, else the adapter (lora)
// or the continued-pretrained weights (cpt, cpt+lora) (kind "retrained"); the adapter, the training
// curve (JSON + SVG) are artifacts and the final training loss a metric.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { copyFile, cp, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type ArtifactOutput,
  type Ports,
  type RetrainSpec,
  UserError,
  type VersionKind,
} from "@shortened/contracts";
import {
  CURVE_FILE,
  type DistillOptions,
  defaultLoraTargets,
  openCheckpoint,
  prepareCpt,
  prepareLora,
  type TrainOptions,
  type TrainProgress,
  trainCpt,
  trainLora,
} from "@shortened/engine";
import { jobStatePrefix } from "../keys.js";
import { isWorkerStopping } from "../preemption.js";
import { CURVE_PLOT, type CurvePoint, trainingCurveSvg } from "../training-plot.js";
import { loadRetrainRows } from "./retrain-data.js";
import { distillTeacher, teacherRecord } from "./retrain-teacher.js";
import { ensureTeacherCache } from "./retrain-teacher-cache.js";
import type { Handler } from "./types.js";

const ADAPTER_FILES = ["adapter_config.json", "adapter_model.safetensors"] as const;

interface PhaseResult {
  phase: "cpt" | "lora" | "partial";
  out: string;
  resumedFrom: number;
  curve: CurvePoint[];
}

/** A spec with its number of optimizer steps settled (given, or from epochs over the rows). */
type SettledSpec = RetrainSpec & { steps: number };

/** `steps`, else `epochs` (default one) passes over `rows` rows of batch × gradAccum rows per step. */
export function trainingSteps(spec: RetrainSpec, rows: number): number {
  if (spec.steps !== undefined && spec.epochs !== undefined)
    throw new UserError("bad_request", "retrain: give steps or epochs, not both");
  if (spec.steps !== undefined) return spec.steps;
  return Math.max(1, Math.ceil(((spec.epochs ?? 1) * rows) / (spec.batch * spec.gradAccum)));
}

export const retrain: Handler<"retrain"> = async (given, ports) => {
  const { input, workDir, jobId, teamId } = ports.context;
  if (given.steps !== undefined && given.epochs !== undefined) trainingSteps(given, 0);
  if (given.dropout > 0 && (given.method === "cpt" || given.method === "partial"))
    throw new UserError(
      "bad_request",
      `retrain: dropout is LoRA dropout (on the adapters' input); method ${given.method} has no LoRA phase`,
    );
  if (given.initAdapter !== undefined && given.method === "cpt")
    throw new UserError("bad_request", "retrain: initAdapter needs a LoRA phase (method lora or cpt+lora)");
  const dir = await ports.checkpoints.materialize(input, ports.signal);
  const ckpt = openCheckpoint(dir);
  const { rows, record } = await loadRetrainRows(given.data, given.seqLen, dir, ckpt.config.vocabSize, ports);
  const spec: SettledSpec = { ...given, steps: trainingSteps(given, rows.ids.length) };
  const train = { ...trainOptions(spec, ports.signal), device: ports.context.device };
  const targets = spec.targets ?? defaultLoraTargets(ckpt.config);
  const initAdapter = await initialAdapter(spec, ports);
  const lora = { r: spec.r, alpha: spec.alpha, targets, seed: spec.seed, initAdapter, dropout: spec.dropout };
  const teacher = await distillTeacher(spec, ports);
  if (teacher) train.distill = teacher.options;
  // Every check (options, r, targets against the model, the teacher's vocabulary) before any compute.
  const partial = spec.method === "partial" ? { parts: spec.parts, lastBlocks: spec.lastBlocks } : undefined;
  const { plan } =
    spec.method === "cpt" || partial
      ? prepareCpt({ ...train, partial, model: ckpt, rows, out: join(workDir, "cpt") })
      : prepareLora({ ...train, ...lora, model: ckpt, rows, out: join(workDir, "lora") });
  ports.progress.log(`plan: retrain ${spec.method}: ${plan.summary}`);
  const teacherCache = teacher?.options.cache
    ? await ensureTeacherCache(ports, teacher, rows, spec)
    : undefined;
  ports.progress.log(
    `retrain ${spec.method}: ${record.rows} rows from ${record.source} (${record.format}), ${spec.steps} steps of ${spec.batch}×${spec.gradAccum} rows, lr ${spec.lr} (${spec.schedule}, warmup ${spec.warmup})`,
  );

  const stateDir = join(workDir, "state");
  await mkdir(stateDir, { recursive: true });
  if (await ports.checkpoints.loadState(jobId, stateDir))
    ports.progress.log("retrain: restored the saved training state of an earlier attempt");
  const onStateSaved = async (step: number) => {
    await ports.checkpoints.saveState(jobId, stateDir);
    ports.progress.log(`retrain: state saved at step ${step}`);
  };

  const phases: PhaseResult[] = [];
  let trained: string[] | undefined;
  const both = spec.method === "cpt+lora";
  let loraBase = dir;
  let loraKey = input.id;
  if (spec.method !== "lora") {
    // For cpt+lora the finished CPT model is kept in the saved state, so a retry skips that phase.
    // Its curve sits beside it, not in it: the merged checkpoint copies the base folder's other files.
    const kept = join(stateDir, "cpt-out");
    const keptCurve = join(stateDir, "cpt-curve.json");
    // (the curve is moved there last, so its presence means the copy is complete)
    if (both && existsSync(keptCurve)) {
      phases.push({ phase: "cpt", out: kept, resumedFrom: spec.steps, curve: readCurve(keptCurve, "cpt") });
      ports.progress.log("retrain: the CPT phase finished in an earlier attempt; going on with LoRA");
    } else {
      const phase = partial ? "partial" : "cpt";
      const r = await trainCpt({
        ...train,
        // `dtype` is LoRA's frozen base: the CPT phase of cpt+lora computes in float32 (cpt alone refuses float16)
        dtype: both ? undefined : train.dtype,
        partial,
        model: ckpt,
        rows,
        out: join(workDir, "cpt"),
        stateDir: join(stateDir, "cpt"),
        modelKey: input.id,
        onProgress: reporter(ports, phase, 0, both ? 0.5 : 0.95, spec.steps),
        onStateSaved,
      });
      if (r.trained) {
        trained = r.trained;
        ports.progress.log(
          `retrain partial: trained ${r.trained.length} tensors (${(spec.parts ?? []).join(", ") || `the last ${spec.lastBlocks} blocks, the final norm and the head`})`,
        );
      }
      const curve = readCurve(join(r.out, CURVE_FILE), phase);
      let out = r.out;
      if (both) {
        await cp(r.out, kept, { recursive: true });
        await rename(join(kept, CURVE_FILE), keptCurve);
        await ports.checkpoints.saveState(jobId, stateDir);
        out = kept;
      }
      phases.push({ phase, out, resumedFrom: r.resumedFrom, curve });
    }
    loraBase = phases[0]!.out;
    loraKey = `${input.id}+cpt`;
  }
  if (spec.method === "lora" || both) {
    const r = await trainLora({
      ...train,
      ...lora,
      model: loraBase,
      rows,
      out: join(workDir, "lora"),
      stateDir: join(stateDir, "lora"),
      modelKey: loraKey,
      merge: spec.merge,
      onProgress: reporter(ports, "lora", both ? 0.5 : 0, 0.95, spec.steps),
      onStateSaved,
    });
    phases.push({
      phase: "lora",
      out: r.out,
      resumedFrom: r.resumedFrom,
      curve: readCurve(join(r.out, CURVE_FILE), "lora"),
    });
  }
  for (const p of phases)
    if (p.resumedFrom > 0 && p.resumedFrom < spec.steps)
      ports.progress.log(`retrain: ${p.phase} resumed from step ${p.resumedFrom}`);

  ports.progress.progress(0.95, "writing outputs");
  const last = phases.at(-1)!;
  const loraPhase = phases.find((p) => p.phase === "lora");
  const artifacts: ArtifactOutput[] = [];
  if (loraPhase) {
    describeAdapterBase(
      loraPhase.out,
      both ? `${input.modelName}@${input.number} + CPT` : versionName(ports),
    );
    for (const f of ADAPTER_FILES) artifacts.push({ name: f, path: join(loraPhase.out, f) });
  }
  const { versionDir, kind } = await outputVersion(spec, phases, workDir);
  const curve = phases.flatMap((p) => p.curve);
  const curveJson = join(workDir, CURVE_FILE);
  await writeFile(curveJson, `${JSON.stringify({ method: spec.method, steps: curve }, null, 1)}\n`);
  const curveSvg = join(workDir, CURVE_PLOT);
  await writeFile(curveSvg, await trainingCurveSvg(curve, `retrain ${spec.method} of ${versionName(ports)}`));
  artifacts.push(
    { name: CURVE_FILE, path: curveJson, contentType: "application/json" },
    { name: CURVE_PLOT, path: curveSvg, contentType: "image/svg+xml" },
  );

  const lastCurve = last.curve.filter((c) => Number.isFinite(c.loss));
  const firstLoss = phases[0]!.curve.find((c) => Number.isFinite(c.loss))?.loss ?? null;
  const finalLoss = lastCurve.at(-1)?.loss ?? null;
  const recipe = {
    step: "retrain",
    method: spec.method,
    dataset: spec.data.dataset ?? record.source,
    data: record,
    ...optimizerSettings(spec),
    seqLen: spec.seqLen,
    ...(loraPhase
      ? {
          r: spec.r,
          alpha: spec.alpha,
          targets: lora.targets,
          seed: spec.seed,
          dropout: spec.dropout,
          merged: spec.merge,
          ...(spec.initAdapter ? { initAdapterVersionId: spec.initAdapter } : {}),
        }
      : {}),
    ...(teacher ? { distill: teacherRecord(teacher.version, spec.distill!) } : {}),
    ...(trained
      ? { parts: spec.parts ?? null, lastBlocks: spec.parts ? null : spec.lastBlocks, trained }
      : {}),
    finalLoss,
  };
  const lastPoint = lastCurve.at(-1);
  const protocol = (definition: string) => ({
    task: "train",
    phase: last.phase,
    method: spec.method,
    step: lastPoint?.step,
    data: record.source,
    dataSha256: record.sha256,
    seqLen: spec.seqLen,
    batch: spec.batch,
    gradAccum: spec.gradAccum,
    ...(teacher ? { distill: teacherRecord(teacher.version, spec.distill!) } : {}),
    definition,
  });
  const metrics =
    finalLoss === null
      ? []
      : [
          {
            name: "train_loss",
            value: finalLoss,
            protocol: protocol(
              teacher
                ? "alpha·τ²·mean KL(teacher ‖ student) + (1 − alpha)·mean next-token NLL over the step's target tokens, before the step's update"
                : "mean next-token NLL over the step's target tokens, before the step's update",
            ),
          },
        ];
  if (teacher && lastPoint?.kdLoss !== undefined && lastPoint.ceLoss !== undefined) {
    metrics.push(
      {
        name: "train_kd_loss",
        value: lastPoint.kdLoss,
        protocol: protocol(
          "τ²·mean KL(teacher ‖ student) over the step's target tokens, before the step's update",
        ),
      },
      {
        name: "train_ce_loss",
        value: lastPoint.ceLoss,
        protocol: protocol("mean next-token NLL over the step's target tokens, before the step's update"),
      },
    );
  }
  // The outputs are complete on local disk: the saved state is no longer needed.
  await ports.artifacts.deletePrefix(jobStatePrefix(teamId, jobId));
  ports.progress.log(
    `retrain ${spec.method}: loss ${firstLoss?.toFixed(4)} -> ${finalLoss?.toFixed(4)}; output ${kind} version`,
  );
  return {
    artifacts,
    metrics,
    version: { dir: versionDir, kind, parentId: input.id, recipe },
    summary: {
      method: spec.method,
      versionKind: kind,
      firstLoss,
      finalLoss,
      phases: phases.map((p) => ({
        phase: p.phase,
        resumedFrom: p.resumedFrom,
        firstLoss: p.curve[0]?.loss ?? null,
        finalLoss: p.curve.at(-1)?.loss ?? null,
        ...(p.curve.length <= 2000 ? { losses: p.curve.map((c) => c.loss) } : {}),
      })),
      adapter: loraPhase ? [...ADAPTER_FILES] : null,
      data: record,
      ...(trained ? { trained } : {}),
      ...(teacher ? { distill: teacherRecord(teacher.version, spec.distill!) } : {}),
      ...(teacherCache ? { teacherCache } : {}),
    },
  };
};

/** initAdapter: a retrained LoRA version of the team; its local folder (adapter files). */
async function initialAdapter(spec: RetrainSpec, ports: Ports): Promise<string | undefined> {
  if (spec.initAdapter === undefined) return undefined;
  const v = await ports.registry.resolveVersion(ports.context.teamId, spec.initAdapter);
  if (v.kind !== "retrained")
    throw new UserError(
      "bad_request",
      `initAdapter ${spec.initAdapter} is a ${v.kind} version, not a retrained LoRA adapter`,
    );
  return ports.checkpoints.materialize(v, ports.signal);
}

/** Where a finished run's phases are on local disk (file mode publishes them as the CLI's layout): the CPT
 *  checkpoint (its curve beside it as `cptCurve` when the phase was kept from an earlier attempt) and the
 *  LoRA folder (adapter, curve, `merged/`). */
export function retrainPhaseFolders(workDir: string): { cpt?: string; cptCurve?: string; lora?: string } {
  const fresh = join(workDir, "cpt");
  const kept = join(workDir, "state", "cpt-out");
  const lora = join(workDir, "lora");
  return {
    ...(existsSync(fresh)
      ? { cpt: fresh }
      : existsSync(kept)
        ? { cpt: kept, cptCurve: join(workDir, "state", "cpt-curve.json") }
        : {}),
    ...(existsSync(join(lora, "adapter_model.safetensors")) ? { lora } : {}),
  };
}

/** The settings that make the numbers: recorded in the recipe and passed to the trainer. */
function optimizerSettings(spec: SettledSpec) {
  return {
    steps: spec.steps,
    batch: spec.batch,
    gradAccum: spec.gradAccum,
    lr: spec.lr,
    warmup: spec.warmup,
    schedule: spec.schedule,
    maxGradNorm: spec.maxGradNorm,
    weightDecay: spec.weightDecay,
  };
}

function trainOptions(spec: SettledSpec, signal: AbortSignal): TrainOptions & { distill?: DistillOptions } {
  return {
    ...optimizerSettings(spec),
    checkpointEvery: spec.checkpointEvery,
    dtype: spec.dtype,
    memoryBudget: spec.memoryBudget,
    threads: spec.threads,
    signal,
    saveOnAbort: isWorkerStopping,
  };
}

/** Progress (throttled by the sink) every step; a log line about 20 times per phase. */
function reporter(ports: Ports, phase: string, from: number, to: number, steps: number) {
  const every = Math.max(1, Math.round(steps / 20));
  return (p: TrainProgress) => {
    const kd = p.kdLoss !== undefined ? ` (KD ${p.kdLoss.toFixed(4)}, CE ${p.ceLoss?.toFixed(4)})` : "";
    const line = `${phase} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}${kd} lr ${p.lr.toExponential(2)} grad-norm ${p.gradNorm.toFixed(3)} ${Math.round(p.tokensPerSec)} tok/s`;
    ports.progress.progress(from + ((to - from) * p.step) / p.steps, line, {
      phase,
      step: p.step,
      totalSteps: p.steps,
      loss: p.loss,
      lr: p.lr,
      gradNorm: p.gradNorm,
      ...(p.kdLoss !== undefined ? { kdLoss: p.kdLoss, ceLoss: p.ceLoss } : {}),
      tokensPerS: p.tokensPerSec,
      etaS: p.etaSec,
    });
    if (p.step % every === 0 || p.step === p.steps)
      ports.progress.log(`${line}, eta ${Math.round(p.etaSec)} s`);
  };
}

function readCurve(path: string, phase: string): CurvePoint[] {
  const { steps } = JSON.parse(readFileSync(path, "utf8")) as {
    steps: Omit<CurvePoint, "phase">[];
  };
  return steps.map((s) => ({ phase, ...s }));
}

function versionName(ports: Ports): string {
  return `${ports.context.input.modelName}@${ports.context.input.number}`;
}

/** The engine records the local folder it trained on; the registry name says more (and leaks no path). */
function describeAdapterBase(dir: string, base: string): void {
  const path = join(dir, "adapter_config.json");
  const config = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  config.base_model_name_or_path = base;
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** The folder and kind of the output version (see the header). */
async function outputVersion(
  spec: RetrainSpec,
  phases: PhaseResult[],
  workDir: string,
): Promise<{ versionDir: string; kind: VersionKind }> {
  const lora = phases.find((p) => p.phase === "lora");
  const cpt = phases.find((p) => p.phase !== "lora");
  if (lora && spec.merge) return { versionDir: join(lora.out, "merged"), kind: "merged" };
  const versionDir = join(workDir, "version");
  if (cpt) {
    await cp(cpt.out, versionDir, { recursive: true });
    await rm(join(versionDir, CURVE_FILE), { force: true });
  } else {
    await mkdir(versionDir, { recursive: true });
    for (const f of ADAPTER_FILES) await copyFile(join(lora!.out, f), join(versionDir, f));
  }
  return { versionDir, kind: "retrained" };
}
