// The few things a job handler may touch. Service mode and embedded mode implement the same ports with
// different adapters (S3 or a local folder, PostgreSQL or PGlite, BullMQ or an in-process runner).
import type { DeviceName } from "./jobs.js";

/** An object written to the artifact store and verified there (size and sha256). */
export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
  contentType: string;
}

export interface ArtifactStore {
  readonly kind: "s3" | "local";
  /** Uploads a file (multipart when large), then verifies the stored size before returning. */
  putFile(key: string, path: string, contentType?: string, signal?: AbortSignal): Promise<StoredObject>;
  putBytes(key: string, bytes: Uint8Array, contentType?: string): Promise<StoredObject>;
  getToFile(key: string, path: string, signal?: AbortSignal): Promise<void>;
  getBytes(key: string): Promise<Buffer>;
  /** Objects under a prefix (a key prefix, or an s3:// URI for S3). */
  list(prefix: string): Promise<{ key: string; size: number }[]>;
  delete(keys: string[]): Promise<void>;
  deletePrefix(prefix: string): Promise<number>;
  /** A URL that downloads the object without credentials (S3: presigned; local: file://). */
  downloadUrl(key: string, expiresSeconds: number): Promise<string>;
  /** Throws when the store cannot be reached (readiness). */
  check(): Promise<void>;
  /** Aborts incomplete multipart uploads under a prefix (S3; what an outage mid-upload leaves), only those
   *  started before `initiatedBefore` when given. */
  abortUploads?(prefix: string, initiatedBefore?: Date): Promise<number>;
}

export type VersionKind = "base" | "pruned" | "retrained" | "merged" | "quantized";

export interface VersionInfo {
  id: string;
  teamId: string;
  modelId: string;
  modelName: string;
  number: number;
  kind: VersionKind;
  storagePrefix: string;
  recipe: Record<string, unknown>;
  /** The version it was made from (lineage); null for a base, absent where unknown (folder runs). */
  parentId?: string | null;
}

/** Where a trainer or an evaluator is: one optimizer step (with its numbers) or one unit of work. */
export interface StepProgress {
  step: number;
  totalSteps: number;
  /** Training only: the step's loss, learning rate, gradient norm (before clipping) and speed. */
  loss?: number;
  lr?: number;
  gradNorm?: number;
  /** Distillation: the step's τ²·mean KL and cross-entropy (loss = α·kdLoss + (1 − α)·ceLoss). */
  kdLoss?: number;
  ceLoss?: number;
  tokensPerS?: number;
  /** Seconds left in this phase, as the worker estimates it. */
  etaS?: number;
  /** e.g. "lora", "cpt", "ppl wikitext2", "importance". */
  phase?: string;
  /** Generation: the text so far (first prompt, first sample) and the time to its first token. */
  text?: string;
  ttftS?: number;
}

/** Progress, log lines and interim metrics as they happen (written as job events). */
export interface ProgressSink {
  /** fraction in [0, 1] of this job; implementations throttle, but keep every training step (one with a loss). */
  progress(fraction: number, message?: string, step?: StepProgress): void;
  log(line: string): void;
}

/** Reading the registry from a handler (writes happen when the runner records the result). */
export interface RegistryReader {
  resolveVersion(teamId: string, ref: string): Promise<VersionInfo>;
  /** The stored result of an earlier job of the team (e.g. an importance order). */
  jobResult(teamId: string, jobId: string): Promise<Record<string, unknown> | null>;
  /** The steps of a pipeline job, in order, with their states and results. */
  pipelineSteps(teamId: string, jobId: string): Promise<StepInfo[]>;
}

export interface StepInfo {
  id: string;
  kind: string;
  state: string;
  reason: string | null;
  result: Record<string, unknown> | null;
  outputVersionId: string | null;
  /** The step's stored spec (a study recognises the children it started by it). */
  spec?: Record<string, unknown>;
}

/** Local copies of checkpoints, and resumable state for long jobs (kept in the artifact store). */
export interface CheckpointStore {
  /** A local folder holding the version's files (downloaded once, then cached). */
  materialize(version: VersionInfo, signal?: AbortSignal): Promise<string>;
  /**
   * A folder holding the version's files for one read through: the cached copy when there is one, else a
   * copy under `scratch` (removed with it) that does not stay in the cache. Default: materialize.
   */
  stage?(version: VersionInfo, scratch: string, signal?: AbortSignal): Promise<string>;
  /** Saves a folder of resumable state for a job (replacing the previous one). */
  saveState(jobId: string, dir: string): Promise<void>;
  /** Restores the last saved state into dir; false when there is none. */
  loadState(jobId: string, dir: string): Promise<boolean>;
}

export interface JobContext {
  jobId: string;
  teamId: string;
  /** Scratch folder for this attempt; removed afterwards. */
  workDir: string;
  /** The model version the job reads (resolved from spec.model before the handler runs). */
  input: VersionInfo;
  /** How many times this job has started (1 on the first attempt). */
  attempt: number;
  /** Where this attempt computes: the spec's device, else the worker's (WORKER_DEVICE), else cpu. */
  device: DeviceName;
}

/** How far a push is: bytes of the files sent so far, and the files done. */
export interface PushProgress {
  file: string;
  bytes: number;
  totalBytes: number;
  filesDone: number;
  files: number;
}

/** A push's outcome: the commit holding the version's files. */
export interface PushOutcome {
  repo: string;
  commit: string;
  url: string;
  files: string[];
  private: boolean;
  /** false: the repository already held exactly these files (a retried push), and no commit was made. */
  committed: boolean;
}

/** Publishing versions to the Hugging Face Hub (push jobs). */
export interface HubPublisher {
  /** Publishes the files of `version` (in `dir`) with a model card; scratch files go under `workDir`. */
  push(
    version: VersionInfo,
    dir: string,
    target: { repo: string; private: boolean; tokenSecret?: string },
    o: { workDir: string; signal: AbortSignal; onProgress?: (p: PushProgress) => void },
  ): Promise<PushOutcome>;
}

export interface Ports {
  artifacts: ArtifactStore;
  registry: RegistryReader;
  checkpoints: CheckpointStore;
  progress: ProgressSink;
  signal: AbortSignal;
  context: JobContext;
  /** Stored importance results (absent: always compute). */
  importance?: ImportanceStore;
  /** Hub publishing (absent where the process has no database behind it, e.g. folder runs). */
  hub?: HubPublisher;
}

/** Block importance kept per (model version, criterion, calibration hash), reused by later jobs. */
export interface ImportanceStore {
  find(
    versionId: string,
    criterion: string,
    calibrationHash: string,
  ): Promise<Record<string, unknown> | null>;
  store(
    versionId: string,
    criterion: string,
    calibrationHash: string,
    calibration: Record<string, unknown>,
    result: Record<string, unknown>,
  ): Promise<void>;
}

/** A metric with the protocol that produced it (dataset, split, seqLen, BOS policy, dtype, ...). */
export interface MetricOutput {
  name: string;
  value: number;
  protocol: Record<string, unknown>;
  /** The version measured; defaults to the job's input (or output when the job made one). */
  versionId?: string;
}

/** A file the handler made; the runner uploads, verifies, then records it. */
export interface ArtifactOutput {
  name: string;
  path: string;
  contentType?: string;
}

/** A new model version: a folder holding an HF checkpoint, a child of the job's input. */
export interface VersionOutput {
  dir: string;
  kind: VersionKind;
  parentId: string;
  recipe: Record<string, unknown>;
  config?: Record<string, unknown>;
}

export interface HandlerResult {
  artifacts: ArtifactOutput[];
  metrics: MetricOutput[];
  version?: VersionOutput;
  /** Small JSON summary stored on the job (e.g. removed blocks, importance order). */
  summary: Record<string, unknown>;
  /**
   * Jobs to start as children of this job (specs of the contracts); the job then waits and runs again once
   * they all finished (a study's phases). Nothing else of the result is recorded.
   */
  spawn?: Record<string, unknown>[];
}
