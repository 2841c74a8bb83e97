// Continued pretraining: every parameter trainable (a tied embedding is one tensor that receives both the
// lookup and the head gradient), AdamW without weight decay on names containing "bias" or "norm" (Trainer's
// get_decay_parameter_names), the pad row of the embedding getting no lookup gradient (nn.Embedding
// padding_idx). Output: the trained model as a Hugging Face checkpoint in the input's stored dtype (BF16 in,
// BF16 out, rounded to nearest even; training itself keeps float32 master weights) plus its training curve.

import { UserError } from "@shortened/contracts";
import {
  type Checkpoint,
  checkOutputTarget,
  type OutputDtype,
  writeFolderAtomically,
  writeHfCheckpoint,
} from "@shortened/hf";
import { parameterShapes } from "../models/architecture.js";
import { checkpointWeights, openCheckpoint } from "../models/weights.js";
import type { TrainRows } from "./data.js";
import {
  type DistillOptions,
  distillKey,
  distillTraining,
  plannedTeacher,
  type ResolvedDistill,
  resolveDistill,
} from "./distill.js";
import { type PartialOptions, partialParts, partialTensors } from "./partial.js";
import { clearState, runTraining, type TrainCurve, type TrainOptions } from "./trainer.js";
import { planTraining, type TrainingPlan } from "./training-memory.js";
import { checkTrainOptions, curveOf, longestRow, runFingerprint, writeCurve } from "./training-run.js";

export interface CptTrainOptions extends TrainOptions {
  model: string | Checkpoint;
  rows: TrainRows;
  out: string;
  force?: boolean;
  /** names the model in the run fingerprint instead of its folder (see LoraTrainOptions.modelKey) */
  modelKey?: string;
  /** distill from a teacher instead of plain next-token cross-entropy */
  distill?: DistillOptions;
  /** partial fine-tuning: train only these parts (default: the last blocks, final norm and head) */
  partial?: PartialOptions;
}

export interface CptTrainResult extends TrainCurve {
  out: string;
  /** the memory estimate and budget, one line */
  memoryPlan?: string;
  resumedFrom: number;
  /** the stored dtype of the written checkpoint (the input's) */
  dtype?: OutputDtype;
  /** partial fine-tuning: the tensors that were trained */
  trained?: string[];
}

export function prepareCpt(o: CptTrainOptions): {
  ckpt: Checkpoint;
  out: string;
  plan: TrainingPlan;
  distill?: ResolvedDistill;
  /** partial fine-tuning: the trainable tensor names */
  trainOnly?: string[];
} {
  const ckpt = openCheckpoint(o.model);
  checkTrainOptions(o);
  if ((o.dtype ?? "float32") !== "float32") {
    // CPT trains every weight: its state is float32 master weights, moments and gradients (20 bytes per
    // parameter), so float16 compute would add a half copy rather than save memory; only LoRA's frozen base gains.
    throw new UserError(
      "bad_request",
      `CPT computes in float32 (\`dtype\` ${o.dtype} applies to LoRA's frozen base): its float32 master weights and moments are the memory, and a float16 copy would only add to it`,
    );
  }
  const distill = o.distill ? resolveDistill(ckpt.config, o.distill) : undefined;
  const trainOnly = o.partial ? partialTensors(ckpt.config, partialParts(ckpt.config, o.partial)) : undefined;
  const shapes = new Map(parameterShapes(ckpt.config).map((p) => [p.name, p.shape]));
  const trainedParams = trainOnly?.reduce((a, n) => a + shapes.get(n)!.reduce((x, y) => x * y, 1), 0);
  const plan = planTraining(
    ckpt.config,
    {
      kind: trainOnly ? "partial" : "cpt",
      trainedParams,
      batch: o.batch,
      seqLen: longestRow(o.rows),
      teacher: plannedTeacher(distill),
    },
    o.memoryBudget,
  );
  return { ckpt, out: checkOutputTarget(o.out, o.force ?? false, [ckpt.dir]), plan, distill, trainOnly };
}

export async function trainCpt(o: CptTrainOptions): Promise<CptTrainResult> {
  const { ckpt, out, plan, distill, trainOnly } = prepareCpt(o);
  const c = ckpt.config;
  const params = parameterShapes(c);
  const trainable = trainOnly ? new Set(trainOnly) : undefined;
  const tensors = params
    .filter(({ name }) => !trainable || trainable.has(name))
    .map(({ name, shape }) => ({
      name,
      dims: shape,
      decay: !name.includes("bias") && !name.includes("norm"),
      init: () => ckpt.readFloat32(name),
    }));
  const fingerprint = runFingerprint("cpt", o, ckpt.dir, {
    ...(distill ? { distill: distillKey(distill) } : {}),
    ...(trainOnly ? { trainOnly } : {}),
  });
  const kd = distillTraining(distill, { device: o.device, threads: o.threads }, o.rows);
  const stateDir = o.stateDir ?? `${out}.train-state`;
  const embedding = "model.embed_tokens.weight";
  const run = await runTraining(
    {
      grad: {
        ckpt,
        trainable: tensors.map(({ name, dims }) => ({ name, dims })),
        hooks: (g, input) => {
          if (!trainable) return { weight: input };
          const frozen = checkpointWeights(g, ckpt);
          return { weight: (name: string) => (trainable.has(name) ? input(name) : frozen(name)) };
        },
        padRowNoLookupGrad:
          c.padTokenId !== undefined && (!trainable || trainable.has(embedding))
            ? { embedding, padId: c.padTokenId }
            : undefined,
        kd: kd.kd,
      },
      teacher: kd.teacher,
      tensors,
      rows: o.rows,
      padId: c.padTokenId ?? 0,
      fingerprint,
    },
    { ...o, stateDir },
  );
  let dtype: OutputDtype = "F32";
  await writeFolderAtomically(out, async (dir) => {
    dtype = await writeHfCheckpoint(
      dir,
      ckpt,
      params,
      (name) => run.params.get(name) ?? ckpt.readFloat32(name),
    );
    writeCurve(dir, run);
  });
  clearState(stateDir);
  return {
    ...curveOf(run),
    out,
    resumedFrom: run.resumedFrom,
    dtype,
    memoryPlan: plan.summary,
    ...(trainOnly ? { trained: trainOnly } : {}),
  };
}
