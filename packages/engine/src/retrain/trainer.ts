// The training loop shared by LoRA and CPT, as the oracle's (HF Trainer-like) loop: optimizer step s uses
// rows (s·B·K + j) mod n for j < B·K as K micro-batches of B rows; its loss is Σ NLL over the step's valid
// targets / their count, reported before the update; gradients are summed over micro-batches and scaled,
// clipped and applied by AdamW, in place. State (trainable tensors, moments, step, curve) is checkpointed
// every `checkpointEvery` steps, atomically, so the same command restarted after a kill resumes where the last
// checkpoint left off and ends with bit-identical tensors on CPU (the data cursor is the step itself;
// LoRA dropout's masks are a function of the step, micro-batch and seed, so there is no random state to carry).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import { type NamedTensor, readTensorFile, writeFolderAtomically, writeTensorFile } from "@shortened/hf";
import type { ort, SessionOptions } from "../graph/session.js";
import type { ComputeDtype } from "../models/precision.js";
import { AdamW, type AdamWState, type OptimizedTensor } from "./adamw.js";
import { type MicroBatch, microBatch, type TrainRows } from "./data.js";
import { GradSession, type GradSessionSpec } from "./grad-session.js";
import { lrMultiplier, type Schedule } from "./schedule.js";
import type { TeacherTargets } from "./teacher-targets.js";

export interface TrainOptions extends SessionOptions {
  steps: number;
  batch: number;
  gradAccum: number;
  lr: number;
  warmup: number;
  schedule: Schedule;
  /** the compute dtype of the frozen base (LoRA: float16 holds it in half the memory, ../models/precision.ts);
   *  trained tensors, their moments and the optimizer stay float32. CPT refuses a half dtype. */
  dtype?: ComputeDtype;
  /** a size ("4G") the run must fit in; default SHORTENED_MEMORY_BUDGET, else a share of available memory */
  memoryBudget?: string | number;
  /** 0 turns clipping off */
  maxGradNorm: number;
  weightDecay: number;
  /** save the state every K optimizer steps (0/undefined: never) into stateDir */
  checkpointEvery?: number;
  stateDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  /** when the signal aborts for this reason, save the state first (a preempted worker hands over its steps) */
  saveOnAbort?: (reason: unknown) => boolean;
  /** awaited after each saved state (e.g. to copy stateDir to remote storage before training goes on) */
  onStateSaved?: (step: number, stateDir: string) => Promise<void> | void;
}

export interface TrainProgress {
  /** optimizer steps done */
  step: number;
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** distillation: the τ²·mean-KL term and the cross-entropy of the step (loss = α·kdLoss + (1 − α)·ceLoss) */
  kdLoss?: number;
  ceLoss?: number;
  tokensPerSec: number;
  etaSec: number;
  /** wall seconds of this step in the gradient session (forward + backward of every micro-batch, the teacher's
   *  targets and the accumulation included) and in the optimizer (clipping and AdamW): where a step's time goes */
  gradSec: number;
  optimizerSec: number;
}

export interface TrainCurve {
  losses: number[];
  lrs: number[];
  gradNorms: number[];
  /** input tokens (padding included) of each step */
  tokens: number[];
  /** distillation: τ²·ΣKL/n and ΣNLL/n of each step (losses holds the objective) */
  kdLosses?: number[];
  ceLosses?: number[];
}

/** The teacher's targets of a micro-batch (rows `sel` of the training data). */
export interface TeacherSource {
  targets(mb: MicroBatch, sel: number[]): Promise<TeacherTargets>;
  release(): Promise<void>;
}

export interface TrainRun extends TrainCurve {
  params: Map<string, Float32Array>;
  /** the step a resumed run started from (0 when it started fresh) */
  resumedFrom: number;
}

export interface TrainSpec {
  grad: GradSessionSpec;
  /** trainable tensors in a fixed order, with their initial values (trained in place), or a function that
   *  reads them (not called when a saved state is resumed) */
  tensors: (OptimizedTensor & { init: Float32Array | (() => Float32Array) })[];
  rows: TrainRows;
  padId: number;
  /** identifies the run (model, data, options); a saved state of another run is refused */
  fingerprint: string;
  /** distillation: opens where the teacher's targets come from (spec.grad.kd holds α, τ and K) */
  teacher?: () => Promise<TeacherSource>;
  /** more feeds of micro-batch `micro` of step `step` (LoRA dropout masks: a function of them, so a resumed run
   *  draws the same) */
  microFeeds?: (step: number, micro: number, mb: MicroBatch) => Record<string, ort.Tensor>;
}

const STATE_JSON = "state.json";
const STATE_TENSORS = "state.safetensors";

/**
 * Trains `spec.tensors` in place: their `init` arrays become the parameters (no copy; callers hand them over),
 * so the host holds parameters, two moments and one gradient sum that ONNX Runtime writes into: 16 bytes per
 * trained parameter (20 with gradient accumulation, which needs a second gradient set to add from).
 */
export async function runTraining(spec: TrainSpec, o: TrainOptions): Promise<TrainRun> {
  const state: AdamWState = { params: new Map(), m: new Map(), v: new Map() };
  const kd = spec.grad.kd;
  const curve: TrainCurve = { losses: [], lrs: [], gradNorms: [], tokens: [] };
  if (kd) Object.assign(curve, { kdLosses: [], ceLosses: [] });
  if (kd && !spec.teacher) throw new Error("distillation needs a teacher source");
  let start = 0;
  if (o.stateDir && existsSync(join(o.stateDir, STATE_JSON)))
    start = loadState(o.stateDir, spec, state, curve);
  else {
    for (const t of spec.tensors) {
      const init = typeof t.init === "function" ? t.init() : t.init;
      state.params.set(t.name, init);
      state.m.set(t.name, new Float32Array(init.length));
      state.v.set(t.name, new Float32Array(init.length));
    }
  }

  // Gradient buffers, allocated once and filled in place by ONNX Runtime every micro-batch.
  // The first micro-batch of a step writes straight into the sums; with gradient accumulation later ones write
  // into a second set that is then added.
  const sums = buffersLike(state.params);
  const micro = o.gradAccum > 1 ? buffersLike(sums) : undefined;
  const sessionOpts = { device: o.device, threads: o.threads, purpose: "training" } as const;
  const gradSession = await GradSession.create(spec.grad, sessionOpts);
  const adamw = new AdamW(spec.tensors, o.maxGradNorm);
  let teacher: TeacherSource | undefined;
  const n = spec.rows.ids.length;
  const B = o.batch;
  const K = o.gradAccum;
  const t0 = performance.now();
  let tokensHere = 0;
  let saved = start;
  try {
    teacher = await spec.teacher?.();
    for (let s = start; s < o.steps; s++) {
      if (o.signal?.aborted) {
        if (o.stateDir && s > saved && o.saveOnAbort?.(o.signal.reason)) {
          await saveState(o.stateDir, spec, state, curve, s);
          await o.onStateSaved?.(s, o.stateDir);
        }
        o.signal.throwIfAborted();
      }
      const lr = o.lr * lrMultiplier(o.schedule, s, o.warmup, o.steps);
      const sel = Array.from({ length: B * K }, (_, j) => (s * B * K + j) % n);
      let nllSum = 0;
      let klSum = 0;
      let valid = 0;
      let tokens = 0;
      const stepStart = performance.now();
      for (let k = 0; k < K; k++) {
        const rows = sel.slice(k * B, (k + 1) * B);
        const mb = microBatch(spec.rows, rows, spec.padId);
        const into = k === 0 ? sums : micro!;
        const r = await gradSession.run(
          mb,
          state.params,
          into,
          await teacher?.targets(mb, rows),
          spec.microFeeds?.(s, k, mb),
        );
        nllSum += r.nllSum;
        klSum += r.kdSum ?? 0;
        valid += mb.valid;
        tokens += mb.batch * mb.seqLen;
        if (k > 0)
          for (const [name, acc] of sums) {
            const g = into.get(name)!;
            for (let i = 0; i < acc.length; i++) acc[i]! += g[i]!;
          }
      }
      const gradEnd = performance.now();
      // A step without any valid target contributes no gradient (HF would divide by zero); skip its update.
      const gradNorm =
        valid > 0
          ? adamw.step(state, sums, { gradScale: 1 / valid, lr, weightDecay: o.weightDecay, t: s + 1 })
          : 0;
      const optimizerSec = (performance.now() - gradEnd) / 1000;
      const ce = valid > 0 ? nllSum / valid : Number.NaN;
      let kdLoss: number | undefined;
      if (kd) {
        kdLoss = valid > 0 ? (kd.temperature * kd.temperature * klSum) / valid : Number.NaN;
        curve.kdLosses!.push(kdLoss);
        curve.ceLosses!.push(ce);
        curve.losses.push(kd.alpha * kdLoss + (1 - kd.alpha) * ce);
      } else curve.losses.push(ce);
      curve.lrs.push(lr);
      curve.gradNorms.push(gradNorm);
      curve.tokens.push(tokens);
      tokensHere += tokens;
      const done = s + 1;
      const elapsed = (performance.now() - t0) / 1000;
      const perStep = elapsed / (done - start);
      o.onProgress?.({
        step: done,
        steps: o.steps,
        loss: curve.losses[s]!,
        lr,
        gradNorm,
        ...(kd ? { kdLoss, ceLoss: ce } : {}),
        tokensPerSec: elapsed > 0 ? tokensHere / elapsed : 0,
        etaSec: perStep * (o.steps - done),
        gradSec: (gradEnd - stepStart) / 1000,
        optimizerSec,
      });
      if (o.stateDir && o.checkpointEvery && done % o.checkpointEvery === 0 && done < o.steps) {
        await saveState(o.stateDir, spec, state, curve, done);
        await o.onStateSaved?.(done, o.stateDir);
        saved = done;
      }
    }
  } finally {
    await gradSession.release();
    await teacher?.release();
  }
  return { ...curve, params: state.params, resumedFrom: start };
}

function buffersLike(tensors: Map<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...tensors].map(([name, x]) => [name, new Float32Array(x.length)]));
}

async function saveState(
  dir: string,
  spec: TrainSpec,
  state: AdamWState,
  curve: TrainCurve,
  step: number,
): Promise<void> {
  await writeFolderAtomically(dir, async (tmp) => {
    const tensors = new Map<string, NamedTensor>();
    for (const t of spec.tensors) {
      tensors.set(`param:${t.name}`, { dims: t.dims, data: state.params.get(t.name)! });
      tensors.set(`m:${t.name}`, { dims: t.dims, data: state.m.get(t.name)! });
      tensors.set(`v:${t.name}`, { dims: t.dims, data: state.v.get(t.name)! });
    }
    writeTensorFile(join(tmp, STATE_TENSORS), tensors);
    writeFileSync(
      join(tmp, STATE_JSON),
      JSON.stringify({ version: 1, fingerprint: spec.fingerprint, step, curve }),
    );
  });
}

function loadState(dir: string, spec: TrainSpec, state: AdamWState, curve: TrainCurve): number {
  const meta = JSON.parse(readFileSync(join(dir, STATE_JSON), "utf8")) as {
    fingerprint: string;
    step: number;
    curve: TrainCurve;
  };
  if (meta.fingerprint !== spec.fingerprint) {
    throw new UserError(
      "conflict",
      `${dir} holds the saved state of a different training run (other model, data or options); remove it to start over`,
    );
  }
  const tensors = readTensorFile(join(dir, STATE_TENSORS));
  for (const t of spec.tensors) {
    for (const [prefix, map] of [
      ["param", state.params],
      ["m", state.m],
      ["v", state.v],
    ] as const) {
      const x = tensors.get(`${prefix}:${t.name}`);
      if (!x || x.data.length !== t.dims.reduce((a, b) => a * b, 1))
        throw new UserError("conflict", `${dir}: the saved state lacks ${prefix}:${t.name}`);
      map.set(t.name, x.data);
    }
  }
  Object.assign(curve, meta.curve);
  return meta.step;
}

/** Removes a finished run's state folder. */
export function clearState(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
