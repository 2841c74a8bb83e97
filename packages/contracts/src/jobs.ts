// One schema per job kind: the single source for API validation, the OpenAPI document, the CLI and the
// worker. A spec is plain data; defaults are filled in by parsing, so a stored spec is complete.
import { z } from "zod";

export const jobKinds = ["importance", "prune", "retrain", "evaluate", "benchmark", "pipeline"] as const;
export const JobKind = z.enum(jobKinds);
export type JobKind = z.infer<typeof JobKind>;

export const jobStates = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export const JobState = z.enum(jobStates);
export type JobState = z.infer<typeof JobState>;
export const finishedStates: readonly JobState[] = ["succeeded", "failed", "cancelled"];

/** A model version: its id, or `name` (latest version) or `name@N` (version number N) within the team. */
export const ModelRef = z
  .string()
  .min(1)
  .max(200)
  .describe("model version id, or model name (latest version), or name@N");

export const Device = z.enum(["cpu", "cuda"]).default("cpu");
export const EvalDataset = z.enum(["wikitext2", "ptb"]);
export const Criterion = z
  .enum(["ppl", "taylor", "bi", "angular", "magnitude"])
  .describe("block importance criterion (ppl = perplexity increase when the block is removed)");

const threads = z.int().min(1).max(256).optional().describe("CPU threads for the engine");

export const Calibration = z
  .object({
    dataset: EvalDataset.optional().describe(
      "draw calibration windows from this shipped text (default wikitext2)",
    ),
    text: z.string().min(1).max(1_000_000).optional().describe("calibration text (instead of a dataset)"),
    n: z.int().min(1).max(4096).default(8).describe("calibration sequences"),
    seqLen: z.int().min(8).max(32768).default(128),
    seed: z.int().min(0).default(1234),
  })
  .strict()
  .refine((c) => !(c.dataset && c.text), { message: "calibration: give a dataset or a text, not both" });
export type Calibration = z.infer<typeof Calibration>;

export const ImportanceSpec = z
  .object({
    kind: z.literal("importance"),
    model: ModelRef,
    criterion: Criterion.default("ppl"),
    calibration: Calibration.default({ n: 8, seqLen: 128, seed: 1234 }),
    keepFirst: z.int().min(0).default(4).describe('"+" order: never remove the first K blocks'),
    keepLast: z.int().min(0).default(2).describe('"+" order: never remove the last K blocks'),
    device: Device,
    threads,
  })
  .strict();
export type ImportanceSpec = z.infer<typeof ImportanceSpec>;

export const PruneSpec = z
  .object({
    kind: z.literal("prune"),
    model: ModelRef,
    blocks: z.array(z.int().min(0)).min(1).max(1024).optional().describe("explicit block indices to remove"),
    count: z.int().min(1).max(1024).optional().describe("remove this many blocks, least important first"),
    criterion: Criterion.default("ppl"),
    importanceJob: z
      .string()
      .optional()
      .describe("use the order computed by this importance job (with count)"),
    rule: z
      .enum(["plus", "plain"])
      .default("plus")
      .describe('"plus" keeps the first/last blocks (PPL+ rule)'),
    keepFirst: z.int().min(0).default(4),
    keepLast: z.int().min(0).default(2),
    calibration: Calibration.default({ n: 8, seqLen: 128, seed: 1234 }),
    device: Device,
    threads,
  })
  .strict()
  .refine((s) => (s.blocks === undefined) !== (s.count === undefined), {
    message:
      "give exactly one of blocks (explicit indices) or count (number of blocks to remove by importance)",
  });
export type PruneSpec = z.infer<typeof PruneSpec>;

export const RetrainSpec = z
  .object({
    kind: z.literal("retrain"),
    model: ModelRef,
    method: z.enum(["lora", "cpt", "cpt+lora"]).default("lora"),
    dataset: z.enum(["tinystories", "wikitext2", "ptb"]).default("tinystories"),
    steps: z.int().min(1).max(1_000_000).default(100),
    batchSize: z.int().min(1).max(4096).default(8),
    seqLen: z.int().min(8).max(32768).default(128),
    lr: z.number().positive().max(1).default(1e-4),
    loraRank: z.int().min(1).max(1024).default(8),
    loraAlpha: z.number().positive().default(16),
    checkpointEvery: z.int().min(1).default(50).describe("steps between resumable checkpoints"),
    seed: z.int().min(0).default(1234),
    device: Device,
    threads,
  })
  .strict();
export type RetrainSpec = z.infer<typeof RetrainSpec>;

export const EvaluateSpec = z
  .object({
    kind: z.literal("evaluate"),
    model: ModelRef,
    task: z.literal("ppl").default("ppl"),
    dataset: EvalDataset.default("wikitext2"),
    seqLen: z.int().min(8).max(32768).default(128),
    bos: z.enum(["first", "every", "none"]).default("first").describe("BOS policy for the windows"),
    batchSize: z.int().min(1).max(1024).default(8),
    maxTokens: z.int().min(1).optional().describe("evaluate only the first N tokens (quick checks)"),
    device: Device,
    threads,
  })
  .strict();
export type EvaluateSpec = z.infer<typeof EvaluateSpec>;

export const BenchmarkSpec = z
  .object({
    kind: z.literal("benchmark"),
    model: ModelRef,
    batchSizes: z.array(z.int().min(1).max(1024)).min(1).max(16).default([1]),
    promptTokens: z.int().min(1).max(32768).default(32),
    genTokens: z.int().min(1).max(32768).default(32),
    repeats: z.int().min(1).max(100).default(3),
    warmup: z.int().min(0).max(100).default(1),
    device: Device,
    threads,
  })
  .strict();
export type BenchmarkSpec = z.infer<typeof BenchmarkSpec>;

/** Step specs inside a pipeline: the model comes from the previous step. */
const step = <T extends z.ZodObject>(s: T) => s.omit({ kind: true, model: true } as never);

export const PipelineSpec = z
  .object({
    kind: z.literal("pipeline"),
    model: ModelRef,
    importance: step(ImportanceSpec)
      .optional()
      .describe("compute block importance first (needed by prune.count)"),
    prune: z
      .object({
        blocks: z.array(z.int().min(0)).min(1).max(1024).optional(),
        count: z.int().min(1).max(1024).optional(),
        rule: z.enum(["plus", "plain"]).default("plus"),
        criterion: Criterion.optional().describe(
          "without an importance step: compute importance with this criterion",
        ),
      })
      .strict()
      .refine((s) => (s.blocks === undefined) !== (s.count === undefined), {
        message: "prune: give exactly one of blocks or count",
      }),
    retrain: step(RetrainSpec).optional(),
    evaluate: z.array(step(EvaluateSpec)).max(8).default([]).describe("evaluations of the final model"),
  })
  .strict();
export type PipelineSpec = z.infer<typeof PipelineSpec>;

export const JobSpec = z.discriminatedUnion("kind", [
  ImportanceSpec,
  PruneSpec,
  RetrainSpec,
  EvaluateSpec,
  BenchmarkSpec,
  PipelineSpec,
]);
export type JobSpec = z.infer<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;
export type SpecOf<K extends JobKind> = Extract<JobSpec, { kind: K }>;

export const jobSpecByKind = {
  importance: ImportanceSpec,
  prune: PruneSpec,
  retrain: RetrainSpec,
  evaluate: EvaluateSpec,
  benchmark: BenchmarkSpec,
  pipeline: PipelineSpec,
} as const;
