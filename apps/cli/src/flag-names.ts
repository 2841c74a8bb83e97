// Engine errors name job-spec fields in backquotes (`seqLen`, `calibration.n`), as the API and job results
// show them; on the command line the same fields are flags, so the CLI names those instead.
const FLAGS: Readonly<Record<string, string>> = {
  seqLen: "--seq-len",
  "calibration.seqLen": "--seq-len",
  "calibration.n": "--n",
  "calibration.bos": "--calib-bos",
  batchSize: "--batch-size",
  bos: "--bos",
  bosId: "--bos-id",
  group: "--group",
  count: "--blocks",
  keepFirst: "--keep-first",
  keepLast: "--keep-last",
  steps: "--steps",
  batch: "--batch",
  gradAccum: "--grad-accum",
  warmup: "--warmup",
  lr: "--lr",
  maxGradNorm: "--max-grad-norm",
  weightDecay: "--weight-decay",
  schedule: "--schedule",
  checkpointEvery: "--checkpoint-every",
  r: "--r",
  alpha: "--alpha",
  targets: "--targets",
  temperature: "--temperature",
  topK: "--top-k",
  topP: "--top-p",
  maxNewTokens: "--max-new-tokens",
  limit: "--limit",
  memoryBudget: "--memory-budget",
  dtype: "--dtype",
  device: "--device",
};

/** The message with each backquoted spec field replaced by its flag (unknown fields lose their quotes). */
export function withFlagNames(message: string): string {
  return message.replace(/`([A-Za-z][\w.]*)`/g, (_, field: string) => FLAGS[field] ?? field);
}
