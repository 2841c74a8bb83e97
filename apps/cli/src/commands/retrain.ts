// `shortened retrain lora|cpt|cpt+lora --model DIR (--data FILE | --ids FILE) --out DIR [...]`: LoRA adapters,
// continued pretraining, or CPT then LoRA, with a progress bar (loss, lr, grad norm, tokens/s, ETA) and a
// training curve (training_curve.json + .svg). Restarting the same command after a kill resumes from the
// last --checkpoint-every state. --json prints {"losses": [...], "out": "...", ...}.
import { extname } from "node:path";
import { loraTargetNames, UserError } from "@shortened/contracts";
import {
  alpacaRows,
  openCheckpoint,
  packedTextRows,
  prepareCpt,
  prepareLora,
  readIdsRows,
  SCHEDULES,
  type TrainProgress,
  type TrainRows,
  trainCpt,
  trainCptThenLora,
  trainLora,
} from "@shortened/engine";
import { loadTokenizer } from "@shortened/hf";
import { plotCurveFile } from "@shortened/jobs";
import { SingleBar } from "cli-progress";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { choiceFlag, intFlag, numberFlag } from "./cli-numbers.js";
import {
  addDtypeOption,
  addRuntimeOptions,
  deviceFlag,
  dtypeFlag,
  memoryBudgetOption,
} from "./runtime-flags.js";

const METHODS = ["lora", "cpt", "cpt+lora"] as const;
type Method = (typeof METHODS)[number];

interface RetrainFlags {
  model: string;
  data?: string;
  ids?: string;
  out: string;
  steps?: string;
  epochs?: string;
  batch: string;
  gradAccum: string;
  lr: string;
  warmup: string;
  schedule: string;
  maxGradNorm: string;
  weightDecay: string;
  r: string;
  alpha: string;
  dropout: string;
  targets?: string;
  initAdapter?: string;
  seed: string;
  checkpointEvery?: string;
  merge?: boolean;
  seqLen: string;
  cutoffLen: string;
  trainOnInputs?: boolean;
  device: string;
  dtype?: string;
  memoryBudget?: string;
  threads?: string;
  distillFrom?: string;
  kdAlpha: string;
  temperature: string;
  topK?: string;
  force?: boolean;
  json?: boolean;
}

/** --ids: token rows; --data: an Alpaca JSON list, or any other file as raw text packed into --seq-len rows. */
function loadRows(f: RetrainFlags, modelDir: string, vocab: number): TrainRows {
  if ((f.data === undefined) === (f.ids === undefined))
    throw new UserError("bad_request", "give exactly one of --data FILE or --ids FILE");
  if (f.ids) return readIdsRows(f.ids, vocab);
  const tok = loadTokenizer(modelDir);
  if (extname(f.data!).toLowerCase() === ".json") {
    return alpacaRows(f.data!, tok, {
      trainOnInputs: f.trainOnInputs,
      maxLen: intFlag("--cutoff-len", f.cutoffLen),
    });
  }
  const seqLen = intFlag("--seq-len", f.seqLen)!;
  if (seqLen < 2) throw new UserError("bad_request", `--seq-len must be at least 2 (got ${seqLen})`);
  return packedTextRows(f.data!, tok, seqLen);
}

async function retrain(methodArg: string, f: RetrainFlags) {
  const method = choiceFlag("method", methodArg, METHODS) as Method;
  const ckpt = openCheckpoint(f.model);
  const rows = loadRows(f, ckpt.dir, ckpt.config.vocabSize);
  const batch = intFlag("--batch", f.batch)!;
  const gradAccum = intFlag("--grad-accum", f.gradAccum)!;
  if (f.steps !== undefined && f.epochs !== undefined)
    throw new UserError("bad_request", "give --steps or --epochs, not both");
  let steps = intFlag("--steps", f.steps);
  if (steps === undefined) {
    const epochs = numberFlag("--epochs", f.epochs ?? "1")!;
    if (!(epochs > 0)) throw new UserError("bad_request", `--epochs must be positive (got ${epochs})`);
    steps = Math.max(1, Math.ceil((epochs * rows.ids.length) / (batch * gradAccum)));
  }
  if (numberFlag("--dropout", f.dropout)! !== 0)
    throw new UserError("bad_request", "only --dropout 0 is supported (deterministic, resumable runs)");
  const common = {
    model: ckpt,
    rows,
    out: f.out,
    force: f.force,
    steps,
    batch,
    gradAccum,
    lr: numberFlag("--lr", f.lr)!,
    warmup: intFlag("--warmup", f.warmup)!,
    schedule: choiceFlag("--schedule", f.schedule, SCHEDULES)!,
    maxGradNorm: numberFlag("--max-grad-norm", f.maxGradNorm)!,
    weightDecay: numberFlag("--weight-decay", f.weightDecay)!,
    checkpointEvery: intFlag("--checkpoint-every", f.checkpointEvery),
    device: deviceFlag(f.device),
    dtype: dtypeFlag(f.dtype),
    memoryBudget: f.memoryBudget,
    threads: intFlag("--threads", f.threads),
    distill: f.distillFrom
      ? {
          teacher: f.distillFrom,
          alpha: numberFlag("--kd-alpha", f.kdAlpha)!,
          temperature: numberFlag("--temperature", f.temperature)!,
          topK: intFlag("--top-k", f.topK) ?? null,
        }
      : undefined,
  };
  const lora = {
    r: intFlag("--r", f.r),
    alpha: numberFlag("--alpha", f.alpha)!,
    targets: f.targets
      ?.split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
    initAdapter: f.initAdapter,
    seed: intFlag("--seed", f.seed),
    merge: f.merge,
  };
  // Every check before any compute.
  if (method === "cpt") prepareCpt(common);
  else prepareLora({ ...common, ...lora, out: method === "lora" ? f.out : `${f.out}/lora` });

  const progress = progressBar(!f.json && process.stderr.isTTY !== false);
  try {
    if (method === "lora") {
      const r = await trainLora({ ...common, ...lora, onProgress: progress.update("lora") });
      const plot = await plotCurveFile(r.out, `LoRA r=${r.r} on ${f.model}`);
      return {
        method,
        losses: r.losses,
        ...kdCurve(r),
        lrs: r.lrs,
        gradNorms: r.gradNorms,
        out: r.out,
        adapter: r.adapter,
        merged: r.merged,
        plot,
        resumedFrom: r.resumedFrom,
      };
    }
    if (method === "cpt") {
      const r = await trainCpt({ ...common, onProgress: progress.update("cpt") });
      const plot = await plotCurveFile(r.out, `CPT of ${f.model}`);
      return {
        method,
        losses: r.losses,
        ...kdCurve(r),
        lrs: r.lrs,
        gradNorms: r.gradNorms,
        out: r.out,
        plot,
        resumedFrom: r.resumedFrom,
      };
    }
    const r = await trainCptThenLora({ ...common, ...lora, onProgress: progress.update("cpt+lora") });
    if (r.cpt.losses.length) await plotCurveFile(r.cpt.out, `CPT of ${f.model}`);
    const plot = await plotCurveFile(r.lora.out, `LoRA r=${r.lora.r} after CPT of ${f.model}`);
    return {
      method,
      losses: r.lora.losses,
      ...kdCurve(r.lora),
      cptLosses: r.cpt.losses,
      lrs: r.lora.lrs,
      gradNorms: r.lora.gradNorms,
      out: r.out,
      cpt: r.cpt.out,
      adapter: r.lora.adapter,
      merged: r.lora.merged,
      plot,
    };
  } finally {
    progress.stop();
  }
}

/** Distillation: the KD and cross-entropy parts of each step's loss. */
function kdCurve(r: { kdLosses?: number[]; ceLosses?: number[] }) {
  return r.kdLosses ? { kdLosses: r.kdLosses, ceLosses: r.ceLosses } : {};
}

function progressBar(enabled: boolean) {
  let bar: SingleBar | null = null;
  return {
    update: (phase: string) => (p: TrainProgress) => {
      if (!enabled) return;
      if (!bar) {
        bar = new SingleBar({
          format: `${phase} [{bar}] {value}/{total} | loss {loss}{kd} | lr {lr} | grad norm {gnorm} | {tps} tok/s | ETA {etaS}s`,
          stream: process.stderr,
          hideCursor: true,
        });
        bar.start(p.steps, 0, { loss: "-", kd: "", lr: "-", gnorm: "-", tps: "-", etaS: "-" });
      }
      if (p.step === 1 && bar.getTotal() !== p.steps) bar.setTotal(p.steps);
      bar.update(p.step, {
        loss: p.loss.toFixed(4),
        kd: p.kdLoss !== undefined ? ` (KD ${p.kdLoss.toFixed(4)}, CE ${p.ceLoss?.toFixed(4)})` : "",
        lr: p.lr.toExponential(2),
        gnorm: p.gradNorm.toFixed(3),
        tps: Math.round(p.tokensPerSec),
        etaS: Math.round(p.etaSec),
      });
    },
    stop: () => (bar as SingleBar | null)?.stop(),
  };
}

function human(r: Awaited<ReturnType<typeof retrain>>): string {
  const l = r.losses;
  return [
    `${r.method}: ${l.length} optimizer steps, loss ${l[0]?.toFixed(4)} → ${l[l.length - 1]?.toFixed(4)}`,
    `wrote ${r.out}${"merged" in r && r.merged ? ` (merged model in ${r.merged})` : ""}`,
    `training curve: ${r.plot}`,
  ].join("\n");
}

export function retrainCommand(): Command {
  return addRuntimeOptions(
    addDtypeOption(new Command("retrain"))
      .addOption(memoryBudgetOption())
      .description("retrain a (pruned) model: LoRA adapters, continued pretraining, or CPT then LoRA")
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
      .option("--batch <b>", "micro-batch rows", "4")
      .option("--grad-accum <k>", "micro-batches per optimizer step", "1")
      .option("--lr <lr>", "peak learning rate", "1e-4")
      .option("--warmup <w>", "warm-up steps", "0")
      .option("--schedule <s>", SCHEDULES.join(" | "), "linear")
      .option("--max-grad-norm <c>", "clip the global gradient norm (0: off)", "1.0")
      .option("--weight-decay <wd>", "AdamW decoupled weight decay", "0")
      .option("--r <r>", "LoRA rank", "8")
      .option("--alpha <a>", "LoRA alpha (scale alpha/r)", "16")
      .option("--dropout <p>", "LoRA dropout (only 0)", "0")
      .option(
        "--targets <list>",
        `LoRA target modules (default: ${loraTargetNames.join(",")}; Phi-3: qkv_proj,o_proj,gate_up_proj,down_proj)`,
      )
      .option("--init-adapter <path>", "start from this PEFT adapter (folder or adapter_model.safetensors)")
      .option("--seed <n>", "seed of the LoRA A initialisation (mulberry32)", "1234")
      .option(
        "--checkpoint-every <k>",
        "save the training state every k steps (resume by rerunning the command)",
      )
      .option("--merge", "lora: also write the merged checkpoint to <out>/merged")
      .option("--seq-len <n>", "raw text: tokens per packed row", "128")
      .option("--cutoff-len <n>", "Alpaca: maximum tokens per example", "256")
      .option("--train-on-inputs", "Alpaca: also learn the prompt tokens")
      .option(
        "--distill-from <dir>",
        "distill from this teacher (the unpruned model): loss = kd-alpha·τ²·KL(teacher‖student) + (1 − kd-alpha)·CE",
      )
      .option("--kd-alpha <a>", "distillation: weight of the KD term (1: KD only)", "1")
      .option("--temperature <t>", "distillation: softmax temperature τ", "1")
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
