// Worker configuration from the environment (the automation contract plus worker tuning).

import {
  type LockTimings,
  lockTimingsFromEnv,
  type QueueConfig,
  queueConfigFromEnv,
} from "@shortened/adapters";
import { type DeviceName, devices, type JobKind, jobKinds, UserError } from "@shortened/contracts";
import { availableKinds, versionCacheMaxBytes } from "@shortened/jobs";

export interface WorkerConfig {
  databaseUrl: string;
  queue: QueueConfig;
  lock: LockTimings;
  /** Jobs run at once by this process (one GPU job per worker by default). */
  concurrency: number;
  /** Extra slots only interactive jobs (playground generations) may use (queue/priority.ts). */
  interactiveSlots: number;
  kinds: JobKind[];
  cacheDir: string;
  /** VERSION_CACHE_MAX_BYTES: bound of the downloaded versions under cacheDir/versions (jobs' version-cache.ts). */
  versionCacheMaxBytes: number;
  /**
   * On SIGTERM the running job is stopped at once: it saves its state (retrain) and is handed back to the
   * queue as a preemption. This is how long that may take before the worker exits anyway.
   */
  shutdownGraceMs: number;
  /** Attempts of a job ended by stopped workers (kill, SIGTERM) after which it fails. */
  maxPreemptions: number;
  /**
   * WORKER_DEVICE (cpu | cuda, default cpu): where jobs whose spec leaves `device` unset compute. A cpu
   * worker fails a job that asks for cuda, with the reason (runner.ts, attemptDevice).
   */
  device: DeviceName;
}

export function workerConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  over: Partial<WorkerConfig> = {},
): WorkerConfig {
  if (!env.DATABASE_URL && !over.databaseUrl) throw new UserError("bad_request", "DATABASE_URL is not set");
  const kinds =
    over.kinds ?? (env.WORKER_KINDS ? (env.WORKER_KINDS.split(",") as JobKind[]) : availableKinds());
  for (const k of kinds)
    if (!(jobKinds as readonly string[]).includes(k))
      throw new UserError("bad_request", `unknown job kind ${k} in WORKER_KINDS`);
  const device = over.device ?? env.WORKER_DEVICE?.trim() ?? "cpu";
  if (!(devices as readonly string[]).includes(device))
    throw new UserError("bad_request", `WORKER_DEVICE must be one of ${devices.join(", ")}, not ${device}`);
  return {
    databaseUrl: over.databaseUrl ?? env.DATABASE_URL!,
    queue: over.queue ?? queueConfigFromEnv(env),
    lock: over.lock ?? lockTimingsFromEnv(env),
    concurrency: over.concurrency ?? Number(env.WORKER_CONCURRENCY ?? 1),
    interactiveSlots: over.interactiveSlots ?? Number(env.WORKER_INTERACTIVE_SLOTS ?? 1),
    kinds: kinds.filter((k) => availableKinds().includes(k)),
    cacheDir: over.cacheDir ?? env.WORKER_CACHE_DIR ?? "/tmp/shortened-worker",
    versionCacheMaxBytes: over.versionCacheMaxBytes ?? versionCacheMaxBytes(env),
    shutdownGraceMs: over.shutdownGraceMs ?? Number(env.SHUTDOWN_GRACE_MS ?? 30_000),
    maxPreemptions: over.maxPreemptions ?? Number(env.JOB_MAX_PREEMPTIONS ?? 20),
    device: device as DeviceName,
  };
}
