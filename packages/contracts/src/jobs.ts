// One schema per job kind: the single source for API validation, the OpenAPI document, the CLI and the
// worker. A spec is plain data; defaults are filled in by parsing, so a stored spec is complete.
// zod 4 returns a `.default(v)` as it is, unparsed: a default that holds objects with defaults of their own is
// a `.prefault(v)` (parsed like a value the client gave) or lists them all (jobs-defaults.test.ts checks both).
import { z } from "zod";

export const jobKinds = [
  "importance",
  "prune",
  "retrain",
  "merge",
  "evaluate",
  "benchmark",
  "pipeline",
  "quantize",
  "study",
  "export",
  "push",
] as const;
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

/** The execution providers a job can ask for. */
export const devices = ["cpu", "cuda"] as const;
export type DeviceName = (typeof devices)[number];
/**
 * Left unset, a job runs on the device of the worker that takes it (its WORKER_DEVICE, else cpu): the
 * stored spec keeps it unset, so a retry on another worker uses that worker's device. `cuda` on a worker
 * without CUDA fails the job with the reason (jobs are not routed by device).
 */
export const Device = z
  .enum(devices)
  .optional()
  .describe(
    "execution provider: cpu or cuda (default: the worker's WORKER_DEVICE, else cpu); cuda taken by a worker without a GPU fails the job with the reason",
  );
export const EvalDataset = z
  .enum(["wikitext2", "ptb", "tinystories"])
  .describe("tinystories: held-out TinyStories validation text, in-domain for TinyStories models");
export const Criterion = z
  .enum(["ppl", "taylor", "bi", "angular", "magnitude", "sleb"])
  .describe(
    "block importance criterion (ppl = perplexity increase when the block is removed; sleb = ppl recomputed on the pruned model after each removal, its + order the removal sequence)",
  );

const threads = z.int().min(1).max(256).optional().describe("CPU threads for the engine");
/** The compute dtypes: one list for the job specs, the CLI's --dtype and the engine. */
export const computeDtypes = ["float32", "float16", "bfloat16"] as const;
export const ComputeDtype = z
  .enum(computeDtypes)
  .optional()
  .describe(
    "compute dtype: float32 (default); float16 holds the weight matrices in float16 and runs every MatMul in it (norms, softmax and the loss stay float32; on CPU slower, half the weight memory); bfloat16 only with device cuda",
  );
export type ComputeDtype = (typeof computeDtypes)[number];
const memoryBudget = z
  .string()
  .max(32)
  .regex(/^\s*\d+(\.\d+)?\s*[kmgtKMGT]?(i?[bB])?\s*$/, {
    message: "memoryBudget: a size such as 4G, 2.5G or 2560M",
  })
  .optional()
  .describe(
    "peak memory the run may use (4G, 2.5G, 2560M); a model that does not fit whole runs block-streamed, and a run that cannot fit is refused (default: the worker's SHORTENED_MEMORY_BUDGET, else 75% of available memory)",
  );

const accuracyLevel = z
  .int()
  .min(0)
  .max(4)
  .optional()
  .describe(
    "GPTQ checkpoints: MatMulNBits accuracy_level, 0 (exact against the dequantized weights; the default) to 4 (int8 activations)",
  );

/** Where calibration rows come from (shared by every calibrated job, as calibrationDraw). */
const calibrationSource = {
  dataset: z
    .enum(["wikitext2", "ptb", "tinystories"])
    .optional()
    .describe(
      "draw calibration windows from this shipped text (default wikitext2; tinystories: data/tinystories, in-domain for TinyStories models)",
    ),
  text: z.string().min(1).max(1_000_000).optional().describe("calibration text (instead of a dataset)"),
  artifact: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .describe("artifact-store key of a file of this team (teams/<team>/...): a text, or {batch} ids rows"),
  format: z
    .enum(["text", "ids"])
    .optional()
    .describe("how to read the artifact (default: .json = ids, else text)"),
  ids: z
    .array(z.array(z.int().min(0)).min(2).max(32768))
    .min(1)
    .max(4096)
    .optional()
    .describe("calibration rows of token ids, all of one length (cut to seqLen)"),
};

/** How windows are drawn from a text. */
const calibrationDraw = {
  seed: z.int().min(0).default(1234),
  bos: z
    .enum(["none", "every"])
    .default("none")
    .describe("windows drawn from a text: every = [BOS] + window[:-1] (the authors' --add_bos_to_every)"),
};

/** At most one source; a format only with an artifact. */
const oneSource = <T extends z.ZodObject>(o: T) =>
  o
    .refine(
      (c: Record<string, unknown>) =>
        [c.dataset, c.text, c.artifact, c.ids].filter((x) => x !== undefined).length <= 1,
      { message: "calibration: give at most one of dataset, text, artifact or ids" },
    )
    .refine((c: Record<string, unknown>) => c.format === undefined || c.artifact !== undefined, {
      message: "calibration: format applies to an artifact",
    });

export const Calibration = oneSource(
  z
    .object({
      ...calibrationSource,
      n: z.int().min(1).max(4096).default(8).describe("calibration sequences drawn from a text"),
      seqLen: z.int().min(2).max(32768).default(128),
      ...calibrationDraw,
    })
    .strict(),
);
export type Calibration = z.infer<typeof Calibration>;

/** GPTQ's calibration when the spec gives no size: 128 windows of 2048 tokens drawn from a text (the paper's). */
export const QUANTIZE_CALIBRATION = { n: 128, seqLen: 2048 } as const;

/** Quantize's calibration: n and seqLen may be left out, and quantizeCalibration says what they then are. */
export const QuantizeCalibration = oneSource(
  z
    .object({
      ...calibrationSource,
      n: z
        .int()
        .min(1)
        .max(4096)
        .optional()
        .describe("calibration rows (default: all rows given as ids; 128 windows drawn from a text)"),
      seqLen: z
        .int()
        .min(2)
        .max(32768)
        .optional()
        .describe("tokens per row (default: the length of the rows given as ids; 2048 from a text)"),
      ...calibrationDraw,
    })
    .strict(),
);
export type QuantizeCalibration = z.infer<typeof QuantizeCalibration>;

/**
 * The size of a quantize job's calibration, the one rule for the job and the CLI (which passes only the flags
 * given): rows given as ids are used all, at their length; windows drawn from a text are QUANTIZE_CALIBRATION's.
 */
export function quantizeCalibration(c: QuantizeCalibration): Calibration {
  return {
    ...c,
    n: c.n ?? c.ids?.length ?? QUANTIZE_CALIBRATION.n,
    seqLen: c.seqLen ?? c.ids?.[0]?.length ?? QUANTIZE_CALIBRATION.seqLen,
  };
}

/** How the criteria read the calibration rows (the same fields in importance and prune). */
const importanceTuning = {
  group: z
    .int()
    .min(1)
    .max(1024)
    .default(1)
    .describe("bi/angular: compare h_l with h_{l+group}; angular scores groups of contiguous blocks"),
  token: z
    .enum(["all", "last"])
    .optional()
    .describe("bi/angular: which tokens (default bi: all, angular: last)"),
  batchSize: z.int().min(1).max(1024).default(10).describe("calibration rows per forward run"),
};

export const ImportanceSpec = z
  .object({
    kind: z.literal("importance"),
    model: ModelRef,
    criterion: Criterion.default("ppl"),
    calibration: Calibration.default({ n: 8, seqLen: 128, seed: 1234, bos: "none" }),
    keepFirst: z.int().min(0).default(4).describe('"+" order: never remove the first K blocks'),
    keepLast: z.int().min(0).default(2).describe('"+" order: never remove the last K blocks'),
    ...importanceTuning,
    device: Device,
    dtype: ComputeDtype,
    threads,
    memoryBudget,
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
    calibration: Calibration.default({ n: 8, seqLen: 128, seed: 1234, bos: "none" }),
    ...importanceTuning,
    device: Device,
    dtype: ComputeDtype,
    threads,
    memoryBudget,
  })
  .strict()
  .refine((s) => (s.blocks === undefined) !== (s.count === undefined), {
    message:
      "give exactly one of blocks (explicit indices) or count (number of blocks to remove by importance)",
  });
export type PruneSpec = z.infer<typeof PruneSpec>;

/** Training data of a retrain job: exactly one of a shipped dataset, an artifact of the team, or token rows. */
export const RetrainData = z
  .object({
    dataset: z
      .enum(["alpaca", "tinystories"])
      .optional()
      .describe(
        "shipped data: alpaca (300 Alpaca instruction records, data/alpaca) or tinystories (raw text, data/tinystories)",
      ),
    artifact: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe(
        "artifact-store key of a file of this team (teams/<team>/...): Alpaca JSON, raw text or {batch} ids",
      ),
    format: z
      .enum(["alpaca", "text", "ids"])
      .optional()
      .describe("how to read the artifact (default: .json = alpaca, else text)"),
    ids: z
      .array(z.array(z.int().min(0)).min(2).max(32768))
      .min(1)
      .max(100_000)
      .optional()
      .describe("pre-tokenized rows"),
    labels: z
      .array(z.array(z.int().min(-100)).max(32768))
      .max(100_000)
      .optional()
      .describe("labels for ids rows (-100 = ignored); default: the ids"),
    trainOnInputs: z.boolean().default(false).describe("Alpaca: also learn the prompt tokens"),
    maxItems: z.int().min(1).optional().describe("use only the first N records / rows"),
  })
  .strict()
  .refine((d) => [d.dataset, d.artifact, d.ids].filter((x) => x !== undefined).length === 1, {
    message: "retrain data: give exactly one of dataset, artifact or ids",
  })
  .refine((d) => d.labels === undefined || d.ids !== undefined, { message: "retrain data: labels need ids" });
export type RetrainData = z.infer<typeof RetrainData>;

export const loraTargetNames = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
] as const;

/** Knowledge distillation from a teacher (Minitron / Model Optimizer logit distillation). */
export const DistillSpec = z
  .object({
    teacher: ModelRef.optional().describe(
      "the teacher version; default: the nearest unpruned ancestor of the model in its lineage",
    ),
    alpha: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("weight of the KD term; 1 − alpha weighs the next-token cross-entropy (1: KD only)"),
    temperature: z.number().positive().max(100).default(1).describe("softmax temperature τ of both models"),
    topK: z
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "keep the teacher's K most likely tokens per position (renormalised); null: the full vocabulary",
      ),
  })
  .strict()
  .describe(
    "loss = alpha·τ²·KL(softmax(z_teacher/τ) ‖ softmax(z_student/τ)), averaged over the valid tokens, + (1 − alpha)·CE",
  );

export type DistillSpec = z.infer<typeof DistillSpec>;

export const RetrainSpec = z
  .object({
    kind: z.literal("retrain"),
    model: ModelRef,
    method: z
      .enum(["lora", "cpt", "cpt+lora", "partial"])
      .default("lora")
      .describe(
        "LoRA adapters on frozen weights, continued pretraining of all weights, CPT then LoRA, or partial fine-tuning (only `parts`, as CPT)",
      ),
    data: RetrainData.default({ dataset: "alpaca", trainOnInputs: false }),
    steps: z
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe("optimizer steps (give steps or epochs; neither: one epoch)"),
    epochs: z
      .number()
      .positive()
      .max(10_000)
      .optional()
      .describe("passes over the data: steps = ceil(epochs × rows / (batch × gradAccum))"),
    batch: z.int().min(1).max(4096).default(4).describe("micro-batch rows"),
    gradAccum: z.int().min(1).max(4096).default(1).describe("micro-batches per optimizer step"),
    lr: z.number().min(0).max(1).default(1e-4),
    warmup: z.int().min(0).default(0).describe("warmup steps"),
    schedule: z.enum(["linear", "cosine", "constant"]).default("linear"),
    maxGradNorm: z.number().min(0).default(1).describe("clip by global norm; 0 turns clipping off"),
    weightDecay: z.number().min(0).default(0),
    r: z.int().min(1).max(1024).default(8).describe("LoRA rank"),
    alpha: z.number().positive().default(16).describe("LoRA alpha (scale alpha/r)"),
    targets: z
      .array(z.string().min(1).max(64))
      .min(1)
      .max(16)
      .optional()
      .describe(
        "LoRA target modules (PEFT names); default: the family's projections, q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (Phi-3: qkv_proj, o_proj, gate_up_proj, down_proj)",
      ),
    merge: z
      .boolean()
      .default(true)
      .describe(
        "publish the merged checkpoint (W + alpha/r·BA) as the output version (false: the adapter alone)",
      ),
    initAdapter: ModelRef.optional().describe(
      "LoRA: start from this retrained LoRA version's adapter instead of A seeded, B = 0 (same r and targets)",
    ),
    seqLen: z
      .int()
      .min(8)
      .max(32768)
      .default(256)
      .describe("raw text: packed row length; Alpaca: cutoff length"),
    checkpointEvery: z
      .int()
      .min(0)
      .default(50)
      .describe("steps between resumable checkpoints (kept in the artifact store); 0 = never"),
    seed: z.int().min(0).default(1234).describe("LoRA A initialisation and LoRA dropout masks"),
    dropout: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe(
        "LoRA dropout on the adapters' input (PEFT's lora_dropout; the paper uses 0.05): masks seeded by `seed`, the step and the micro-batch, so a resumed run draws the same",
      ),
    parts: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(256)
      .optional()
      .describe(
        'partial: tensor names or prefixes to train ("model.layers.7", "model.norm", "lm_head"); default: the last `lastBlocks` blocks, the final norm and the head',
      ),
    lastBlocks: z
      .int()
      .min(0)
      .max(1024)
      .default(3)
      .describe("partial without `parts`: how many of the last remaining blocks to train (Lu et al. 2024)"),
    distill: DistillSpec.optional().describe(
      "distill from a teacher (the unpruned model by default) instead of plain next-token cross-entropy",
    ),
    device: Device,
    dtype: ComputeDtype.describe(
      "LoRA's frozen base: float16 holds its weight matrices in float16 (half the memory; adapters, moments and the optimizer stay float32); CPT always computes in float32",
    ),
    memoryBudget,
    threads,
  })
  .strict();
export type RetrainSpec = z.infer<typeof RetrainSpec>;

/** Folds a LoRA adapter into its base model (W + alpha/r·B·A): the output is a "merged" version of the base. */
export const MergeSpec = z
  .object({
    kind: z.literal("merge"),
    model: ModelRef.describe("the base version the adapter was trained on"),
    adapter: ModelRef.describe(
      "a retrained LoRA version (retrain with merge false): its adapter_config.json and adapter_model.safetensors",
    ),
    alpha: z
      .number()
      .positive()
      .optional()
      .describe("LoRA alpha (default: the adapter's adapter_config.json)"),
  })
  .strict();
export type MergeSpec = z.infer<typeof MergeSpec>;

/** A version as an ONNX decoder for ONNX Runtime (KV cache in and out, external weights, a README of its I/O). */
export const ExportSpec = z
  .object({
    kind: z.literal("export"),
    model: ModelRef,
    format: z.literal("onnx").default("onnx"),
    dtype: z
      .enum(["float32", "float16"])
      .default("float32")
      .describe("weights of the matrix products (norms, softmax and the KV cache stay float32)"),
  })
  .strict();
export type ExportSpec = z.infer<typeof ExportSpec>;

/**
 * A version published to the Hugging Face Hub: its checkpoint and a model card, the lineage in the commit
 * message. Started by an admin with POST /v1/versions/{id}/push (or `shortened models push`), not through
 * POST /v1/jobs. The job's result is the commit.
 */
export const PushSpec = z
  .object({
    kind: z.literal("push"),
    model: ModelRef,
    repo: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/, "org/name")
      .refine((r) => !r.includes(".."), "org/name")
      .describe("the Hub repository (created when missing; an existing one gets a new commit)"),
    private: z.boolean().default(true).describe("create the repository private (default) or public"),
    tokenSecret: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
      .optional()
      .describe("the team secret holding a Hub token with write access (embedded mode: $HF_TOKEN)"),
  })
  .strict();
export type PushSpec = z.infer<typeof PushSpec>;

/** Perplexity (the default evaluate task). */
export const EvaluatePplSpec = z
  .object({
    kind: z.literal("evaluate"),
    model: ModelRef,
    task: z.literal("ppl").default("ppl"),
    dataset: EvalDataset.optional().describe(
      "a shipped text (default wikitext2 when no text, ids or artifact is given; give one source)",
    ),
    text: z
      .string()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe("a text of your own, tokenized whole without special tokens (instead of a dataset)"),
    ids: z
      .array(z.int().min(0))
      .min(2)
      .max(1_000_000)
      .optional()
      .describe("a token-id stream (instead of a dataset)"),
    artifact: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe('artifact-store key of a file of this team (teams/<team>/...): a text, or {"ids": [..]}'),
    format: z
      .enum(["text", "ids"])
      .optional()
      .describe("how to read the artifact (default: .json = ids, else text)"),
    seqLen: z.int().min(8).max(32768).default(128),
    bos: z.enum(["first", "every", "none"]).default("first").describe("BOS policy for the windows"),
    bosId: z
      .int()
      .min(0)
      .optional()
      .describe("BOS token id (default: the config's bos_token_id, else the tokenizer's)"),
    skip: z
      .array(z.int().min(0))
      .max(1024)
      .optional()
      .describe("evaluate with these blocks left out, as if pruned (block indices)"),
    batchSize: z.int().min(1).max(1024).default(8),
    maxTokens: z.int().min(1).optional().describe("evaluate only the first N tokens (quick checks)"),
    device: Device,
    dtype: ComputeDtype,
    threads,
    memoryBudget,
    accuracyLevel,
  })
  .strict();

/** The paper's seven zero-shot tasks (lm-evaluation-harness names; @shortened/hf reads their files). */
export const zeroShotTaskNames = [
  "boolq",
  "piqa",
  "hellaswag",
  "winogrande",
  "arc_easy",
  "arc_challenge",
  "openbookqa",
] as const;
export const ZeroShotTask = z.enum(zeroShotTaskNames, {
  error: (i) => `unknown zero-shot task ${JSON.stringify(i.input)} (known: ${zeroShotTaskNames.join(", ")})`,
});

/** Whether a request starts with the tokenizer's BOS: the pinned harness adds none, lm-evaluation-harness 0.4.x
 *  adds it for tokenizers that add one. Part of every zero-shot result's protocol. */
export const zeroShotBosPolicies = ["none", "tokenizer"] as const;
export const ZeroShotBos = z
  .enum(zeroShotBosPolicies)
  .default("none")
  .describe(
    "none: no BOS token, as the paper's lm-evaluation-harness 3326c54; tokenizer: the tokenizer's own special tokens (a BOS where it adds one), as lm-evaluation-harness 0.4.x",
  );
export type ZeroShotBos = z.infer<typeof ZeroShotBos>;

/** Zero-shot multiple choice scored as lm-evaluation-harness 3326c54 does. */
export const EvaluateZeroShotSpec = z
  .object({
    kind: z.literal("evaluate"),
    model: ModelRef,
    task: z.literal("zeroshot"),
    tasks: z
      .array(ZeroShotTask)
      .min(1)
      .max(zeroShotTaskNames.length)
      .refine((t) => new Set(t).size === t.length, { message: "tasks: a task is listed twice" })
      .optional()
      .describe(
        "tasks to score; each must have its data on the workers (refused at submission otherwise). Default: every one of the seven whose data is present, the others named in the result (missingTasks) and the report",
      ),
    limit: z
      .int()
      .min(1)
      .optional()
      .describe(
        "score only the first N documents of each task file (quick checks; recorded in the protocol)",
      ),
    strategy: z
      .enum(["shared-context", "rows"])
      .default("shared-context")
      .describe("shared-context: each context once through the KV cache; rows: every request in full"),
    taskFiles: z
      .partialRecord(ZeroShotTask, z.string().min(1).max(1024))
      .optional()
      .describe(
        "a task's documents from a file of this team instead of the shipped one: task -> artifact-store key (PIQA's labels: <name>-labels.lst beside it)",
      ),
    bos: ZeroShotBos,
    device: Device,
    dtype: ComputeDtype,
    threads,
    memoryBudget,
    accuracyLevel,
  })
  .strict();

const prompt = z
  .string()
  .min(1)
  .max(20_000)
  .refine((s) => s.trim() !== "", { message: "a prompt is empty" });

/** Sample generations from prompts with the KV cache (greedy unless sampling is asked for). */
export const EvaluateGenerateSpec = z
  .object({
    kind: z.literal("evaluate"),
    model: ModelRef,
    task: z.literal("generate"),
    prompts: z.array(prompt).min(1).max(64).describe("each prompt is generated from on its own"),
    maxNewTokens: z.int().min(1).max(8192).default(64),
    sample: z
      .boolean()
      .default(false)
      .describe("sample instead of greedy decoding (implied by temperature, topK or topP)"),
    temperature: z.number().positive().max(100).optional(),
    topK: z.int().min(0).max(1_000_000).optional().describe("keep the k most likely tokens (0 = off)"),
    topP: z.number().gt(0).max(1).optional().describe("keep the most likely tokens up to mass p (1 = off)"),
    seed: z.int().min(0).max(4294967295).default(0).describe("seed of the sampler"),
    numSamples: z.int().min(1).max(16).default(1).describe("independent generations per prompt"),
    bos: z.boolean().default(true).describe("prepend the tokenizer's BOS token"),
    ignoreEos: z
      .boolean()
      .default(false)
      .describe("continue past the end-of-sequence token (always maxNewTokens tokens)"),
    device: Device,
    dtype: ComputeDtype,
    threads,
    memoryBudget,
    accuracyLevel,
  })
  .strict();

const evaluateTaskError = {
  error: (i: { code?: string }) =>
    i.code === "invalid_union" ? 'task must be one of "ppl", "zeroshot", "generate"' : undefined,
};
export const EvaluateSpec = z.discriminatedUnion(
  "task",
  [EvaluatePplSpec, EvaluateZeroShotSpec, EvaluateGenerateSpec],
  evaluateTaskError,
);
export type EvaluateSpec = z.infer<typeof EvaluateSpec>;
export type EvaluatePplSpec = z.infer<typeof EvaluatePplSpec>;
export type EvaluateZeroShotSpec = z.infer<typeof EvaluateZeroShotSpec>;
export type EvaluateGenerateSpec = z.infer<typeof EvaluateGenerateSpec>;

export const BenchmarkSpec = z
  .object({
    kind: z.literal("benchmark"),
    model: ModelRef,
    baseline: ModelRef.optional().describe(
      "another version (the original) benchmarked alongside, runs alternating, with ratios against it",
    ),
    batchSizes: z.array(z.int().min(1).max(1024)).min(1).max(16).default([1, 4, 16, 64]),
    promptTokens: z.int().min(1).max(32768).default(128).describe("random prompt tokens"),
    genTokens: z.int().min(1).max(32768).default(128).describe("generated tokens (greedy, EOS ignored)"),
    repeats: z.int().min(1).max(100).default(5).describe("timed runs per model and batch size"),
    warmup: z.int().min(0).max(100).default(2).describe("untimed runs per model and batch size"),
    memory: z
      .boolean()
      .default(false)
      .describe("measure peak memory per model and batch size (one child process each)"),
    seed: z.int().min(0).max(4294967295).default(1234).describe("seed of the random prompts"),
    device: Device,
    dtype: ComputeDtype,
    threads,
    memoryBudget,
    accuracyLevel,
  })
  .strict();
export type BenchmarkSpec = z.infer<typeof BenchmarkSpec>;

/** Post-training weight quantization (AutoGPTQ 0.7.1 semantics; defaults: the paper's recipe). The output is a
 *  "quantized" version of the input in the classic GPTQ layout. */
export const QuantizeSpec = z
  .object({
    kind: z.literal("quantize"),
    model: ModelRef,
    method: z
      .enum(["gptq", "rtn"])
      .default("gptq")
      .describe("gptq, or round-to-nearest with the same groups"),
    bits: z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(8)]).default(4),
    groupSize: z
      .int()
      .min(-1)
      .max(1 << 20)
      .refine((g) => g !== 0, { message: "groupSize: −1 (one group per output row) or a positive size" })
      .default(128)
      .describe("input columns per group of scales and zeros; -1: one group per output row"),
    actOrder: z.boolean().default(true).describe("desc_act: quantize columns by descending Hessian diagonal"),
    staticGroups: z.boolean().default(false),
    sym: z.boolean().default(true),
    trueSequential: z.boolean().default(true),
    damp: z.number().min(0).max(1).default(0.01).describe("damp_percent: damping = damp · mean(diag H)"),
    dampRetries: z
      .int()
      .min(0)
      .max(100)
      .default(10)
      .describe("retries of a failed factorization, each adding 0.0015 to damp (GPTQModel's auto increment)"),
    checkpointFormat: z
      .enum(["gptq", "gptq_v2"])
      .default("gptq")
      .describe(
        "gptq: classic AutoGPTQ v1 zeros (zero − 1); gptq_v2: the zero itself (needed for sym false)",
      ),
    calibration: QuantizeCalibration.default({ seed: 1234, bos: "none" }).describe(
      "calibration rows: from a text (default WikiText-2) 128 windows of 2048 tokens unless n and seqLen say otherwise (the paper's 128 × 2048); rows given as ids are used all, at their length, and must number at least n",
    ),
    batchSize: z
      .int()
      .min(1)
      .max(1024)
      .default(8)
      .describe("calibration rows per forward run (fewer when the memory budget needs it)"),
    device: Device,
    threads,
    memoryBudget,
  })
  .strict();
export type QuantizeSpec = z.infer<typeof QuantizeSpec>;

/**
 * Step specs inside a pipeline: the model comes from the previous step. Typed by the spec's own shape and
 * config, so a step keeps its fields (and its strictness) in the inferred types; a bare `z.ZodObject` bound
 * would erase them to `{}` and a union of such steps to nothing a client could write.
 */
const step = <
  Shape extends z.core.$ZodShape & { kind: z.ZodType; model: z.ZodType },
  Config extends z.core.$ZodObjectConfig,
>(
  s: z.ZodObject<Shape, Config>,
) =>
  // the mask's excess-key check (Exclude<"kind", keyof Shape>) does not resolve for a generic Shape
  s.omit<{ kind: true; model: true }>({ kind: true, model: true } as never);

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
    evaluate: z
      .array(
        z.discriminatedUnion(
          "task",
          [step(EvaluatePplSpec), step(EvaluateZeroShotSpec), step(EvaluateGenerateSpec)],
          evaluateTaskError,
        ),
      )
      .max(8)
      .default([])
      .describe("evaluations of the final model: perplexity, zero-shot tasks, sample generations"),
  })
  .strict();
export type PipelineSpec = z.infer<typeof PipelineSpec>;

/** How a study retrains each pruned model: nothing, or one of the retrain methods (the retrain job's fields). */
export const studyRetrainMethods = ["none", "lora", "cpt", "cpt+lora", "partial"] as const;
const StudyRetrain = RetrainSpec.omit({ kind: true, model: true, method: true, epochs: true }).extend({
  method: z
    .enum(studyRetrainMethods)
    .describe(
      'none: the pruned model as it is; lora, cpt, cpt+lora, partial: a retrain job with these fields (with `distill`, the cell\'s method reads "<method>+kd")',
    ),
  // steps, not epochs: every method of a study trains on the same token budget
  steps: z.int().min(1).max(1_000_000).default(100).describe("optimizer steps"),
});

/**
 * The paper's experiment as one job: every criterion x count (or ratio) x retraining method, each cell
 * evaluated. Importance runs once per criterion, one pruned version per distinct set of removed blocks,
 * every retraining method on the same token budget; the dense model is evaluated too.
 */
export const StudySpec = z
  .object({
    kind: z.literal("study"),
    model: ModelRef,
    criteria: z
      .array(z.union([Criterion, z.literal("reverse"), z.literal("angular-band")]))
      .min(1)
      .max(8)
      .refine((c) => new Set(c).size === c.length, { message: "criteria: a criterion is listed twice" })
      .describe(
        'block importance criteria to compare; "reverse" removes the last blocks before the kept ones, deepest first (the baseline of "Reassessing Layer Pruning"; no importance job); "angular-band" removes, per count n, the n contiguous blocks whose input and output are closest in angular distance (Gromov et al.; an angular importance job with group n per count)',
      ),
    counts: z
      .array(z.int().min(1).max(1024))
      .min(1)
      .max(16)
      .optional()
      .describe("numbers of blocks to remove (give counts or ratios)"),
    ratios: z
      .array(z.number().gt(0).lt(1))
      .min(1)
      .max(16)
      .optional()
      .describe("pruning ratios: the share of blocks removed, count = round(ratio x blocks)"),
    calibration: Calibration.default({ n: 8, seqLen: 128, seed: 1234, bos: "none" }),
    keepFirst: z.int().min(0).default(4).describe('"+" rule: never remove the first K blocks'),
    keepLast: z.int().min(0).default(2).describe('"+" rule: never remove the last K blocks'),
    batchSize: z.int().min(1).max(1024).default(10).describe("importance: calibration rows per forward run"),
    retrain: z
      .array(StudyRetrain)
      .min(1)
      .max(8)
      .prefault([{ method: "none" }])
      .describe(
        "retraining methods, each on every pruned model; all methods but none on the same token budget",
      ),
    evaluate: z
      .array(
        z.discriminatedUnion(
          "task",
          [step(EvaluatePplSpec), step(EvaluateZeroShotSpec), step(EvaluateGenerateSpec)],
          evaluateTaskError,
        ),
      )
      .min(1)
      .max(8)
      .prefault([{ task: "ppl", dataset: "wikitext2" }])
      .describe("evaluations of the dense model and of every cell"),
    device: Device,
    threads,
  })
  .strict()
  .refine((s) => (s.counts === undefined) !== (s.ratios === undefined), {
    message: "give exactly one of counts (blocks to remove) or ratios (share of blocks)",
  });
export type StudySpec = z.infer<typeof StudySpec>;

export const JobSpec = z.discriminatedUnion("kind", [
  ImportanceSpec,
  PruneSpec,
  RetrainSpec,
  EvaluateSpec,
  BenchmarkSpec,
  PipelineSpec,
  QuantizeSpec,
  // last: the lint exceptions name the union's branches by position
  MergeSpec,
  StudySpec,
  ExportSpec,
]);
export type JobSpec = z.infer<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;
/** Every kind a worker runs: the specs of POST /v1/jobs, and push (started by its own admin route). */
export type AnyJobSpec = JobSpec | PushSpec;
export type SpecOf<K extends JobKind> = Extract<AnyJobSpec, { kind: K }>;

export const jobSpecByKind = {
  importance: ImportanceSpec,
  prune: PruneSpec,
  retrain: RetrainSpec,
  merge: MergeSpec,
  evaluate: EvaluateSpec,
  benchmark: BenchmarkSpec,
  pipeline: PipelineSpec,
  quantize: QuantizeSpec,
  study: StudySpec,
  export: ExportSpec,
  push: PushSpec,
} as const;
