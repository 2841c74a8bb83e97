// LoRA retraining of a (pruned) checkpoint: adapters y = W x + b + (alpha/r)·B(A x) on the target modules,
// frozen base weights, AdamW on A and B (weight decay on all of them, as the authors' PEFT/Trainer setup).
// Output: the adapter in PEFT layout, the training curve, and with `merge` a merged HF checkpoint.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { UserError } from "@shortened/contracts";
import {
  type Checkpoint,
  checkOutputTarget,
  type NamedTensor,
  writeFolderAtomically,
  writeHfCheckpoint,
} from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";
import { parameterShapes } from "../models/architecture.js";
import { linear } from "../models/linear.js";
import { checkComputeDtype } from "../models/precision.js";
import { checkpointWeightRows, checkpointWeights, openCheckpoint } from "../models/weights.js";
import type { TrainRows } from "./data.js";
import {
  type DistillOptions,
  distillKey,
  distillTraining,
  plannedTeacher,
  type ResolvedDistill,
  resolveDistill,
} from "./distill.js";
import {
  defaultLoraTargets,
  initAdapter,
  type LoraSpec,
  loraA,
  loraB,
  loraSpec,
  readAdapter,
  writeAdapter,
} from "./lora-adapter.js";
import { dropoutFeeds, dropoutInput, droppedInput } from "./lora-dropout.js";
import { mergedTensor } from "./merge.js";
import { clearState, runTraining, type TrainCurve, type TrainOptions } from "./trainer.js";
import { planTraining, type TrainingPlan } from "./training-memory.js";
import { checkTrainOptions, curveOf, longestRow, runFingerprint, writeCurve } from "./training-run.js";

export interface LoraTrainOptions extends TrainOptions {
  model: string | Checkpoint;
  rows: TrainRows;
  out: string;
  force?: boolean;
  r?: number;
  alpha?: number;
  targets?: string[];
  /** PEFT folder or adapter_model.safetensors to start from (else A seeded, B = 0) */
  initAdapter?: string;
  seed?: number;
  /** also write the merged checkpoint to <out>/merged */
  merge?: boolean;
  /** names the model in the run fingerprint instead of its folder (e.g. a registry version id), so a run
   *  saved on one machine resumes on another whose copy of the model lives elsewhere */
  modelKey?: string;
  /** distill from a teacher instead of plain next-token cross-entropy */
  distill?: DistillOptions;
  /** LoRA dropout on the adapters' input (PEFT's lora_dropout), in [0, 1); masks seeded by `seed` */
  dropout?: number;
  /** vocabulary rows per chunk of the frozen (untied) head in the training graph (default: 32 MiB of float32
   *  each, ../models/head-chunks.ts); the loss is the same for every chunk size */
  headChunkRows?: number;
}

export interface LoraTrainResult extends TrainCurve {
  out: string;
  /** the memory estimate and budget, one line */
  memoryPlan?: string;
  adapter: string;
  merged?: string;
  resumedFrom: number;
  r: number;
  alpha: number;
  modules: number;
}

/**
 * base + scale·(down Bᵀ) as one Gemm whose C is the base product: the adapter's rank-r product is written onto the
 * base output in the same pass, instead of an up-projection, a Mul by the scale and an Add each passing over the
 * [B·T, out] activations (and their gradients) on their own. The scale multiplies the rank-r `down` instead: for
 * a power-of-two scale (the default alpha 16 / r 8) both orders give the same bits.
 */
function addAdapter(g: GraphBuilder, base: string, down: string, b: string, scale: number): string {
  const flat = (x: string) => g.node("Flatten", [x], { axis: -1 });
  const scaled = scale === 1 ? flat(down) : g.node("Mul", [flat(down), g.scalar(scale)]);
  // Bᵀ through a Transpose, as linear() reads its weight: the gradients then take the products they took before
  const y = g.node("Gemm", [scaled, g.node("Transpose", [b], { perm: [1, 0] }), flat(base)]);
  return g.node("Reshape", [y, g.node("Shape", [base])]);
}

/** Checks everything (options, r, targets, adapter fit) before compute; returns what training needs. */
export function prepareLora(o: LoraTrainOptions): {
  ckpt: Checkpoint;
  spec: LoraSpec;
  init: Map<string, NamedTensor>;
  out: string;
  plan: TrainingPlan;
  distill?: ResolvedDistill;
} {
  const ckpt = openCheckpoint(o.model);
  checkTrainOptions(o);
  if (o.dropout !== undefined && !(o.dropout >= 0 && o.dropout < 1))
    throw new UserError("bad_request", `LoRA dropout must be in [0, 1) (got ${o.dropout})`);
  checkComputeDtype(o.dtype, o.device);
  const distill = o.distill ? resolveDistill(ckpt.config, o.distill) : undefined;
  const spec = loraSpec(ckpt.config, o.r ?? 8, o.alpha ?? 16, o.targets ?? defaultLoraTargets(ckpt.config));
  const init = o.initAdapter ? readAdapter(o.initAdapter, spec) : initAdapter(spec, o.seed ?? 1234);
  const adapterParams = spec.modules.reduce((a, m) => a + spec.r * (m.in + m.out), 0);
  const plan = planTraining(
    ckpt.config,
    {
      kind: "lora",
      batch: o.batch,
      seqLen: longestRow(o.rows),
      adapterParams,
      dtype: o.dtype,
      teacher: plannedTeacher(distill),
    },
    o.memoryBudget,
  );
  const out = checkOutputTarget(o.out, o.force ?? false, [ckpt.dir]);
  return { ckpt, spec, init, out, plan, distill };
}

export async function trainLora(o: LoraTrainOptions): Promise<LoraTrainResult> {
  const { ckpt, spec, init, out, plan, distill } = prepareLora(o);
  const scale = spec.alpha / spec.r;
  const p = o.dropout ?? 0;
  const seed = o.seed ?? 1234;
  const targeted = new Set(spec.modules.map((m) => m.prefix));
  const tensors = spec.modules.flatMap((m) => [
    { name: loraA(m.prefix), dims: [spec.r, m.in], decay: true, init: init.get(loraA(m.prefix))!.data },
    { name: loraB(m.prefix), dims: [m.out, spec.r], decay: true, init: init.get(loraB(m.prefix))!.data },
  ]);
  const fingerprint = runFingerprint(
    "lora",
    o,
    ckpt.dir,
    {
      r: spec.r,
      alpha: spec.alpha,
      targets: spec.targets,
      ...(distill ? { distill: distillKey(distill) } : {}),
      // dropout 0 keeps the fingerprint of runs saved before dropout existed
      ...(p > 0 ? { dropout: p, seed } : {}),
    },
    tensors.map((t) => t.init),
  );
  const kd = distillTraining(distill, { device: o.device, threads: o.threads }, o.rows);
  const stateDir = o.stateDir ?? `${out}.train-state`;
  const run = await runTraining(
    {
      grad: {
        ckpt,
        trainable: tensors.map(({ name, dims }) => ({ name, dims })),
        hooks: (g, input) => ({
          // The frozen base in the compute dtype (float16: half the memory); adapters and their path float32.
          weight: checkpointWeights(g, ckpt, o.dtype),
          // the head in vocabulary chunks: no whole-head float32 widening in a float16 MatMul
          weightRows: checkpointWeightRows(g, ckpt, o.dtype),
          headChunkRows: o.headChunkRows,
          dtype: o.dtype,
          linear: (x, prefix, base) => {
            if (!targeted.has(prefix)) return base(x);
            const xa = p > 0 ? droppedInput(g, x, input(dropoutInput(prefix)), p) : x;
            // the adapter's nodes before the base product's, so backward sums x's gradients in the same order
            const down = linear(g, xa, input(loraA(prefix)));
            return addAdapter(g, base(x), down, input(loraB(prefix)), scale);
          },
        }),
        kd: kd.kd,
        ...(p > 0
          ? {
              extraInputs: spec.modules.map((m) => ({
                name: dropoutInput(m.prefix),
                type: "bool" as const,
                dims: ["batch", "seq", m.in],
              })),
            }
          : {}),
      },
      teacher: kd.teacher,
      ...(p > 0
        ? { microFeeds: (step, micro, mb) => dropoutFeeds(p, seed, spec.modules, step, micro, mb) }
        : {}),
      tensors,
      rows: o.rows,
      padId: ckpt.config.padTokenId ?? 0,
      fingerprint,
    },
    { ...o, stateDir },
  );
  const trained = new Map<string, NamedTensor>();
  for (const t of tensors) trained.set(t.name, { dims: t.dims, data: run.params.get(t.name)! });
  await writeFolderAtomically(out, async (dir) => {
    writeAdapter(dir, spec, trained, resolve(ckpt.dir), p);
    writeCurve(dir, run);
    if (o.merge) {
      const mergedDir = join(dir, "merged");
      mkdirSync(mergedDir);
      await writeHfCheckpoint(
        mergedDir,
        ckpt,
        parameterShapes(ckpt.config),
        (name) => mergedTensor(spec, trained, name, () => ckpt.readFloat32(name)) ?? ckpt.readFloat32(name),
      );
    }
  });
  clearState(stateDir);
  return {
    ...curveOf(run),
    out,
    adapter: `${out}/adapter_model.safetensors`,
    merged: o.merge ? `${out}/merged` : undefined,
    resumedFrom: run.resumedFrom,
    memoryPlan: plan.summary,
    r: spec.r,
    alpha: spec.alpha,
    modules: spec.modules.length,
  };
}
