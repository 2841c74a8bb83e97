// Each job attempt runs in a child process of the worker. ONNX Runtime's session runs and graph builds
// are synchronous on the calling thread: in the worker's own process they would block the timers that
// renew the job's BullMQ lock, and a busy machine would then make a healthy worker look dead (its job
// taken over, a preemption that was none). A child process also keeps a poison input that exhausts the
// heap from taking the worker down: only the attempt fails. The parent keeps the lock, the child runs
// `runJob`; they talk over IPC (the attempt number, abort requests, the outcome or the error).
import { type ChildProcess, fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { JobNoLongerRunning } from "@shortened/adapters";
import { type DeviceName, UserError, type UserErrorCode } from "@shortened/contracts";
import { budgetedMallocEnv } from "@shortened/contracts/malloc-env";
import {
  AttemptSuperseded,
  JobCancelled,
  type RunOutcome,
  TooManyPreemptions,
  WorkerStopping,
} from "@shortened/jobs";

export interface JobProcessOptions {
  jobId: string;
  cacheDir: string;
  versionCacheMaxBytes: number;
  maxPreemptions: number;
  /** The worker's device (WORKER_DEVICE), for specs that leave theirs unset. */
  device: DeviceName;
  signal: AbortSignal;
  onAttempt: (attempt: number) => void;
}

/** What crosses the IPC channel for an error: enough to rebuild the classes the worker tells apart. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  status?: number;
  jobId?: string;
  attempt?: number;
}

export type ToChild =
  | {
      type: "run";
      jobId: string;
      cacheDir: string;
      versionCacheMaxBytes: number;
      maxPreemptions: number;
      device: DeviceName;
    }
  | { type: "abort"; reason: WireError };
export type FromChild =
  | { type: "ready" }
  | { type: "attempt"; attempt: number }
  | { type: "done"; outcome: RunOutcome }
  | { type: "error"; error: WireError };

export function toWire(e: unknown): WireError {
  const x = (e ?? {}) as Partial<WireError> & { stack?: string };
  return {
    name: typeof x.name === "string" ? x.name : "Error",
    message: typeof x.message === "string" ? x.message : String(e),
    ...(typeof x.code === "string" ? { code: x.code } : {}),
    ...(typeof x.status === "number" ? { status: x.status } : {}),
    ...(typeof x.jobId === "string" ? { jobId: x.jobId } : {}),
    ...(typeof x.attempt === "number" ? { attempt: x.attempt } : {}),
  };
}

export function fromWire(w: WireError): Error {
  switch (w.name) {
    case "UserError":
      return new UserError(w.code as UserErrorCode, w.message, w.status);
    case "JobCancelled":
      return new JobCancelled(w.jobId ?? "");
    case "AttemptSuperseded":
      return new AttemptSuperseded(w.jobId ?? "", w.attempt ?? 0);
    case "WorkerStopping":
      return new WorkerStopping(w.message);
    case "JobNoLongerRunning":
      return Object.assign(new JobNoLongerRunning(w.jobId ?? ""), { message: w.message });
    case "TooManyPreemptions": {
      const e = new TooManyPreemptions("", 0, 0);
      e.message = w.message;
      return e;
    }
    default: {
      const e = new Error(w.message);
      e.name = w.name;
      return e;
    }
  }
}

const here = fileURLToPath(import.meta.url);
// Run from the sources (tsx, in development and tests) or from dist.
const childEntry = join(dirname(here), here.endsWith(".ts") ? "job-child.ts" : "job-child.js");

/**
 * The environment a job needs in its process beyond the worker's own: a training job under a memory budget (its
 * spec's `memoryBudget`, or the worker's SHORTENED_MEMORY_BUDGET) gets glibc's malloc thresholds fixed, by the
 * rule the CLI's bin applies to `shortened retrain` (@shortened/contracts/malloc-env). glibc reads them only
 * when a process starts, so such a job runs in a job process of its own.
 */
export function jobProcessEnv(
  job: { kind: string; spec: unknown },
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const spec = job.spec as { memoryBudget?: unknown } | null;
  const memoryBudget = typeof spec?.memoryBudget === "string" ? spec.memoryBudget : undefined;
  return budgetedMallocEnv({ training: job.kind === "retrain", memoryBudget }, env);
}

/**
 * A child process that runs job attempts one at a time. It stays up between jobs (starting one costs
 * seconds), and a new one is started when the last one died (a heap exhausted by a poison input).
 */
export class JobProcess {
  private child: ChildProcess | null = null;
  /** Resolves once the child listens for messages (one sent before would be lost). */
  private ready: Promise<void> = Promise.resolve();

  /** @param extraEnv variables the child gets on top of the worker's environment (see jobProcessEnv) */
  constructor(private readonly extraEnv: Record<string, string> = {}) {}

  private spawn(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null && this.child.connected)
      return this.child;
    const child = fork(childEntry, [], {
      execArgv: process.execArgv,
      env: { ...process.env, ...this.extraEnv },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    child.on("error", () => {});
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type !== "ready") return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve();
      };
      const onExit = (code: number | null) =>
        reject(new Error(`the job process did not start (exit code ${code})`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
    this.ready.catch(() => {});
    this.child = child;
    return child;
  }

  /** Starts the child now, so the first job does not wait for it. */
  start(): this {
    this.spawn();
    return this;
  }

  /** Runs one attempt; resolves or rejects as runJob would have. */
  async run(o: JobProcessOptions): Promise<RunOutcome> {
    const child = this.spawn();
    await this.ready;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        o.signal.removeEventListener("abort", onAbort);
        child.off("message", onMessage);
        child.off("exit", onExit);
        f();
      };
      const onAbort = () => {
        if (child.connected) child.send({ type: "abort", reason: toWire(o.signal.reason) } satisfies ToChild);
      };
      const onMessage = (m: FromChild) => {
        if (m.type === "attempt") o.onAttempt(m.attempt);
        else if (m.type === "done") settle(() => resolve(m.outcome));
        else if (m.type === "error") settle(() => reject(fromWire(m.error)));
      };
      const onExit = (code: number | null, sig: string | null) =>
        settle(() =>
          reject(
            new Error(
              `the job's process ended without a result (exit code ${code}, signal ${sig ?? "none"})`,
            ),
          ),
        );
      o.signal.addEventListener("abort", onAbort);
      child.on("message", onMessage);
      child.on("exit", onExit);
      child.send({
        type: "run",
        jobId: o.jobId,
        cacheDir: o.cacheDir,
        versionCacheMaxBytes: o.versionCacheMaxBytes,
        maxPreemptions: o.maxPreemptions,
        device: o.device,
      } satisfies ToChild);
      if (o.signal.aborted) onAbort();
    });
  }

  /** Ends the child (the worker is stopping). */
  close(): void {
    if (this.child?.connected) this.child.disconnect();
    this.child = null;
  }
}
