// The training fixtures made by scripts/fixtures/train.sh (from the oracle), shared by the LoRA and CPT
// oracle tests: the fixture models, each fixture's JSON, and its training options as ours.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TrainRows } from "../retrain/data.js";
import type { TrainOptions } from "../retrain/trainer.js";

const root = fileURLToPath(new URL("../../../..", import.meta.url));
export const TRAIN_FIXTURES = fileURLToPath(new URL("../fixtures/train/", import.meta.url));
export const TRAIN_FIXTURE_NAMES = [
  "llama",
  "mistral",
  "qwen2",
  "gemma",
  "llama-bias",
  "demo",
  "qwen3",
  "gemma2",
  "gemma3_text",
  "phi3",
] as const;

// biome-ignore lint/suspicious/noExplicitAny: oracle JSON
export function trainFixture(name: string): any {
  return JSON.parse(readFileSync(join(TRAIN_FIXTURES, `${name}.json`), "utf8"));
}

export const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** The model, data and optimizer settings of a fixture's run (`o`: its lora or cpt options), one thread. */
export function fixtureTrainOptions(
  // biome-ignore lint/suspicious/noExplicitAny: oracle JSON
  f: any,
  // biome-ignore lint/suspicious/noExplicitAny: oracle JSON
  o: any,
): TrainOptions & { model: string; rows: TrainRows } {
  return {
    model: join(root, f.model),
    rows: { ids: f.train.batch, labels: f.train.labels ?? f.train.batch, source: "fixture" },
    steps: o.steps,
    batch: o.batch,
    gradAccum: o.grad_accum,
    lr: o.lr,
    warmup: o.warmup,
    schedule: o.schedule,
    maxGradNorm: o.max_grad_norm,
    weightDecay: o.weight_decay,
    threads: 1,
  };
}

/** A fixture's LoRA run as the oracle made it (options, r, alpha, targets, initial adapter), written to `out`. */
export function fixtureLoraOptions(
  // biome-ignore lint/suspicious/noExplicitAny: oracle JSON
  f: any,
  out: string,
) {
  const o = f.lora.options;
  return {
    ...fixtureTrainOptions(f, o),
    out,
    r: o.r as number,
    alpha: o.alpha as number,
    targets: o.targets as string[],
    initAdapter: join(TRAIN_FIXTURES, f.lora.init_adapter),
  };
}
