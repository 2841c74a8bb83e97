// `shortened retrain lora|cpt|cpt+lora|partial --model DIR (--data FILE | --ids FILE) --out DIR [...]`: LoRA
// adapters, continued pretraining, CPT then LoRA, or partial fine-tuning (only --parts), run by the retrain job's handler on the folder (one data loader, one
// retraining sequence), with progress (loss, lr, grad norm, tokens/s) on a terminal and a
// training curve (training_curve.json + .svg). Restarting the same command after a kill resumes from the
// last --checkpoint-every state. --json prints {"losses": [...], "out": "...", ...}.
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { loraTargetNames, UserError } from "@shortened/contracts";
import { SCHEDULES } from "@shortened/engine";
import { checkOutputTarget, writeFolderAtomically } from "@shortened/hf";
import { type FolderRun, plotCurveFile, publishFolder, retrainPhaseFolders } from "@shortened/jobs";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { choiceFlag, intFlag, numberFlag } from "./cli-numbers.js";
import { withFolderRun } from "./folder-job.js";
import {
  addDtypeOption,
  addRuntimeOptions,
  deviceFlag,
  dtypeFlag,
  memoryBudgetOption,
} from "./runtime-flags.js";

const METHODS = ["lora", "cpt", "cpt+lora", "partial"] as const;
type Method = (typeof METHODS)[number];

interface RetrainFlags {
  model: string;
  data?: string;
  ids?: string;
  out: string;
  steps?: string;
  epochs?: string;
  batch?: string;
  gradAccum?: string;
  lr?: string;
  warmup?: string;
  schedule?: string;
  maxGradNorm?: string;
  weightDecay?: string;
  r?: string;
  alpha?: string;
  dropout?: string;
  targets?: string;
  initAdapter?: string;
  seed?: string;
  checkpointEvery?: string;
  merge?: boolean;
  seqLen?: string;
  cutoffLen?: string;
  trainOnInputs?: boolean;
  device?: string;
  dtype?: string;
  memoryBudget?: string;
  threads?: string;
  parts?: string;
  lastBlocks?: string;
  distillFrom?: string;
  kdAlpha?: string;
  temperature?: string;
  topK?: string;
  force?: boolean;
  json?: boolean;
}

/** --ids: token rows; --data: an Alpaca JSON list, or any other file as raw text (the job's data.artifact). */
async function dataField(f: RetrainFlags, run: FolderRun) {
  if ((f.data === undefined) === (f.ids === undefined))
    throw new UserError("bad_request", "give exactly one of --data FILE or --ids FILE");
  if (f.ids !== undefined) return { artifact: await run.addInput(f.ids, "ids file"), format: "ids" as const };
  return { artifact: await run.addInput(f.data!, "data file"), trainOnInputs: f.trainOnInputs };
}

/** A comma-separated list flag. */
function listFlag(v: string | undefined): string[] | undefined {
  return v
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** The retrain job's spec from the flags (unset flags take the job's defaults). */
async function retrainSpec(method: Method, f: RetrainFlags, run: FolderRun) {
  if (f.seqLen !== undefined && f.cutoffLen !== undefined)
    throw new UserError("bad_request", "give --seq-len or --cutoff-len (the same setting), not both");
  if (f.steps !== undefined && f.epochs !== undefined)
    throw new UserError("bad_request", "give --steps or --epochs, not both");
  if (method !== "partial" && (f.parts !== undefined || f.lastBlocks !== undefined))
    throw new UserError("bad_request", "--parts and --last-blocks are for retrain partial");
  if (f.parts !== undefined && f.lastBlocks !== undefined)
    throw new UserError("bad_request", "give --parts or --last-blocks, not both");
  return {
    method,
    data: await dataField(f, run),
    steps: intFlag("--steps", f.steps),
    epochs: numberFlag("--epochs", f.epochs),
    batch: intFlag("--batch", f.batch),
    gradAccum: intFlag("--grad-accum", f.gradAccum),
    lr: numberFlag("--lr", f.lr),
    warmup: intFlag("--warmup", f.warmup),
    schedule: choiceFlag("--schedule", f.schedule, SCHEDULES),
    maxGradNorm: numberFlag("--max-grad-norm", f.maxGradNorm),
    weightDecay: numberFlag("--weight-decay", f.weightDecay),
    r: intFlag("--r", f.r),
    alpha: numberFlag("--alpha", f.alpha),
    targets: listFlag(f.targets),
    initAdapter: f.initAdapter === undefined ? undefined : "initAdapter",
    parts: listFlag(f.parts),
    lastBlocks: intFlag("--last-blocks", f.lastBlocks),
    distill:
      f.distillFrom === undefined
        ? undefined
        : {
            teacher: "teacher",
            alpha: numberFlag("--kd-alpha", f.kdAlpha),
            temperature: numberFlag("--temperature", f.temperature),
            topK: intFlag("--top-k", f.topK),
          },
    seed: intFlag("--seed", f.seed),
    dropout: numberFlag("--dropout", f.dropout),
    checkpointEvery: intFlag("--checkpoint-every", f.checkpointEvery),
    merge: f.merge,
    seqLen: intFlag("--seq-len", f.seqLen) ?? intFlag("--cutoff-len", f.cutoffLen),
    device: deviceFlag(f.device),
    dtype: dtypeFlag(f.dtype),
    memoryBudget: f.memoryBudget,
    threads: intFlag("--threads", f.threads),
  };
}

interface Curve {
  losses: number[];
  /** distillation: the KD and cross-entropy parts of each step's loss */
  kdLosses?: number[];
  ceLosses?: number[];
  lrs: number[];
  gradNorms: number[];
}

function readCurveFile(dir: string): Curve {
  const { steps } = JSON.parse(readFileSync(join(dir, "training_curve.json"), "utf8")) as {
    steps: { loss: number; lr: number; gradNorm: number; kdLoss?: number; ceLoss?: number }[];
  };
  return {
    losses: steps.map((s) => s.loss),
    ...(steps[0]?.kdLoss !== undefined
      ? { kdLosses: steps.map((s) => s.kdLoss!), ceLosses: steps.map((s) => s.ceLoss!) }
      : {}),
    lrs: steps.map((s) => s.lr),
    gradNorms: steps.map((s) => s.gradNorm),
  };
}

/** The CLI's layout: lora → the adapter folder (with merged/), cpt and partial → the checkpoint, cpt+lora →
 *  cpt/ and lora/. */
async function publishPhases(method: Method, workDir: string, out: string): Promise<void> {
  const at = retrainPhaseFolders(workDir);
  if (method === "lora") return publishFolder(at.lora!, out);
  if (method === "cpt" || method === "partial") return publishFolder(at.cpt!, out);
  await writeFolderAtomically(out, async (tmp) => {
    renameSync(at.cpt!, join(tmp, "cpt"));
    if (at.cptCurve) renameSync(at.cptCurve, join(tmp, "cpt", "training_curve.json"));
    renameSync(at.lora!, join(tmp, "lora"));
  });
}

async function retrain(methodArg: string, f: RetrainFlags) {
  const method = choiceFlag("method", methodArg, METHODS) as Method;
  const out = checkOutputTarget(f.out, f.force ?? false, [f.model]);
  const versions = {
    ...(f.initAdapter === undefined ? {} : { initAdapter: f.initAdapter }),
    ...(f.distillFrom === undefined ? {} : { teacher: f.distillFrom }),
  };
  return withFolderRun(
    { model: f.model, near: out, json: f.json, stateDir: `${out}.train-state`, versions },
    async (run) => {
      const r = await run.run("retrain", await retrainSpec(method, f, run));
      await publishPhases(method, run.workDir, out);
      run.clearState();
      const phases = r.summary.phases as { phase: string; resumedFrom: number }[];
      const lora = method === "lora" ? out : method === "cpt+lora" ? join(out, "lora") : null;
      const last = lora ?? out;
      const title =
        method === "cpt"
          ? `CPT of ${f.model}`
          : method === "partial"
            ? `partial fine-tuning of ${f.model}`
            : `LoRA after CPT of ${f.model}`;
      if (method === "cpt+lora") await plotCurveFile(join(out, "cpt"), `CPT of ${f.model}`);
      const plot = await plotCurveFile(last, method === "lora" ? `LoRA on ${f.model}` : title);
      const merged = lora && existsSync(join(lora, "merged")) ? join(lora, "merged") : undefined;
      return {
        method,
        ...readCurveFile(last),
        ...(method === "cpt+lora"
          ? { cptLosses: readCurveFile(join(out, "cpt")).losses, cpt: join(out, "cpt") }
          : {}),
        out,
        ...(lora ? { adapter: join(lora, "adapter_model.safetensors"), merged } : {}),
        plot,
        ...(r.summary.trained ? { trained: r.summary.trained as string[] } : {}),
        ...(r.summary.teacherCache
          ? { teacherCache: r.summary.teacherCache as Record<string, unknown> }
          : {}),
        resumedFrom: phases.at(-1)!.resumedFrom,
        steps: (r.version!.recipe as { steps: number }).steps,
      };
    },
  );
}

function teacherCacheLine(c: Record<string, unknown>): string {
  const mb = ((c.bytes as number) / 1e6).toFixed(1);
  const how = c.reused ? "reused" : `computed in ${c.seconds} s`;
  return `teacher top-K cache: ${how}, ${c.tokens} tokens, ${mb} MB`;
}

function human(r: Awaited<ReturnType<typeof retrain>>): string {
  const l = r.losses;
  return [
    `${r.method}: ${l.length} optimizer steps, loss ${l[0]?.toFixed(4)} → ${l[l.length - 1]?.toFixed(4)}`,
    ...(r.trained ? [`trained ${r.trained.length} tensors: ${r.trained.join(", ")}`] : []),
    ...(r.teacherCache ? [teacherCacheLine(r.teacherCache)] : []),
    `wrote ${r.out}${r.merged ? ` (merged model in ${r.merged})` : ""}`,
    `training curve: ${r.plot}`,
  ].join("\n");
}

export function retrainCommand(): Command {
  return addRuntimeOptions(
    addDtypeOption(new Command("retrain"))
      .addOption(memoryBudgetOption())
      .description(
        "retrain a (pruned) model: LoRA adapters, continued pretraining, CPT then LoRA, or partial fine-tuning",
      )
      .argument("<method>", METHODS.join(" | "))
      .requiredOption("--model <dir>", "model folder (config.json + safetensors)")
      .option(
        "--data <file>",
        "Alpaca-style .json (instruction/input/output) or raw text (packed into --seq-len rows)",
      )
      .option("--ids <file>", 'pre-tokenized rows {"batch": [[ids]], "labels"?: [[ids or -100]]}')
      .requiredOption("--out <dir>", "output folder (adapter in PEFT layout, or the trained checkpoint)")
      .option("--steps <n>", "optimizer steps")
      .option("--epochs <e>", "passes over the data (default 1 when --steps is not given)")
      .option("--batch <b>", "micro-batch rows (default 4)")
      .option("--grad-accum <k>", "micro-batches per optimizer step (default 1)")
      .option("--lr <lr>", "peak learning rate (default 1e-4)")
      .option("--warmup <w>", "warm-up steps (default 0)")
      .option("--schedule <s>", `${SCHEDULES.join(" | ")} (default linear)`)
      .option("--max-grad-norm <c>", "clip the global gradient norm (0: off; default 1)")
      .option("--weight-decay <wd>", "AdamW decoupled weight decay (default 0)")
      .option("--r <r>", "LoRA rank (default 8)")
      .option("--alpha <a>", "LoRA alpha (scale alpha/r; default 16)")
      .option(
        "--dropout <p>",
        "LoRA dropout on the adapters' input, in [0, 1) (masks seeded by --seed; default 0)",
      )
      .option(
        "--targets <list>",
        `LoRA target modules (default: ${loraTargetNames.join(",")}; Phi-3: qkv_proj,o_proj,gate_up_proj,down_proj)`,
      )
      .option("--init-adapter <path>", "start from this PEFT adapter (folder or adapter_model.safetensors)")
      .option("--seed <n>", "seed of the LoRA A initialisation (mulberry32; default 1234)")
      .option(
        "--checkpoint-every <k>",
        "save the training state every k steps (0: never; default 50); rerun the command to resume",
      )
      .option("--merge", "LoRA: also write the merged checkpoint to <lora out>/merged (the default)")
      .option("--no-merge", "LoRA: write the adapter only")
      .option("--seq-len <n>", "raw text: tokens per packed row; Alpaca: cutoff length (default 256)")
      .option("--cutoff-len <n>", "Alpaca: maximum tokens per example (the same setting as --seq-len)")
      .option("--train-on-inputs", "Alpaca: also learn the prompt tokens")
      .option(
        "--parts <list>",
        "partial: tensor names or prefixes to train (model.layers.7,model.norm,lm_head; default: the last --last-blocks blocks, the final norm and the head)",
      )
      .option(
        "--last-blocks <n>",
        "partial without --parts: how many of the last blocks to train (default 3)",
      )
      .option(
        "--distill-from <dir>",
        "distill from this teacher (the unpruned model): loss = kd-alpha·τ²·KL(teacher‖student) + (1 − kd-alpha)·CE",
      )
      .option("--kd-alpha <a>", "distillation: weight of the KD term (1: KD only; default 1)")
      .option("--temperature <t>", "distillation: softmax temperature τ (default 1)")
      .option("--top-k <k>", "distillation: keep the teacher's K most likely tokens per position"),
  )
    .option("--force", "replace an existing --out")
    .option("--json", "print one JSON object")
    .action(async (method: string, f: RetrainFlags) => {
      await runCommand(f, () => retrain(method, f), human);
    });
}

export function register(program: Command): void {
  program.addCommand(retrainCommand());
}
