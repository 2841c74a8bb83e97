// Runs one job attempt, the same way in a BullMQ worker and in the CLI's embedded mode:
// claim it, resolve its input, run the handler with the ports, upload and verify every output, then
// record all of it in one transaction. A failure anywhere deletes what this attempt uploaded. The
// attempt number fences the attempt: once a newer attempt started (its worker was thought dead), this one
// stops, writes no state, progress or result, and leaves the job to the newer one.
import { join } from "node:path";
import {
  awaitChildren,
  type HubDeps,
  hubDepsFromEnv,
  importanceStore,
  isCurrentAttempt,
  type NamedObject,
  type PrismaClient,
  recordSuccess,
  registryReader,
  setInputVersion,
  startAttempt,
  uuidv7,
} from "@shortened/adapters";
import {
  type ArtifactStore,
  type DeviceName,
  type HandlerResult,
  type JobKind,
  type JobSpec,
  jobSpecByKind,
  type Ports,
  type ProgressSink,
  UserError,
} from "@shortened/contracts";
import { listFiles, StoreCheckpoints } from "./checkpoints.js";
import { handlers as defaultHandlers, type HandlerTable } from "./handlers/index.js";
import { materializeHubVersion } from "./hub-models.js";
import { hubPublisher } from "./hub-push.js";
import { attemptOutputPrefix, checkpointPrefix, jobOutputPrefix } from "./keys.js";
import { AttemptSuperseded, TooManyPreemptions } from "./preemption.js";
import { DbProgressSink, pipelineProgress } from "./progress.js";
import { stableReason } from "./stable-reason.js";
import { specError } from "./submit.js";
import { VersionCache, versionCacheMaxBytes } from "./version-cache.js";
import { openWorkFolder } from "./work-folders.js";

export interface RunnerDeps {
  db: PrismaClient;
  store: ArtifactStore;
  /** Where downloaded checkpoints are cached and attempts get their scratch folders. */
  cacheDir: string;
  handlers?: HandlerTable;
  /** Aborts the attempt (worker shutdown, BullMQ cancel, Ctrl-C). */
  signal?: AbortSignal;
  /** Also report progress here (the CLI's progress bar). */
  progress?: ProgressSink;
  /** How often to look for a cancel request (or a newer attempt) in the database. */
  cancelPollMs?: number;
  /** Told the attempt number once the attempt is claimed (the worker fences its own writes with it). */
  onAttempt?: (attempt: number) => void;
  /** Attempts ended by a stopped worker after which the job fails instead of starting again. */
  maxPreemptions?: number;
  /** Bound of the version cache under cacheDir/versions (default: VERSION_CACHE_MAX_BYTES, version-cache.ts). */
  versionCacheMaxBytes?: number;
  /** Hub access for versions registered from the Hub (default: from the environment, cache under cacheDir/hub). */
  hub?: HubDeps;
  /** Service mode: child jobs a handler starts are dispatched through the job outbox. */
  outbox?: boolean;
  /** This worker's device (WORKER_DEVICE): used by specs that leave `device` unset (default cpu). */
  device?: DeviceName;
  /** Embedded mode: $HF_TOKEN, for pushes that name no team secret (a worker passes none). */
  hubEnvToken?: string;
}

export type RunOutcome =
  | { status: "succeeded"; result: Record<string, unknown> }
  | { status: "already-finished"; state: string }
  /** The job started child jobs and waits for them; `jobs` is their dispatch (children, then the job). */
  | { status: "waiting"; jobs: { id: string; kind: JobKind; parentJobId: string | null }[] };

/** Thrown when a job stops because someone asked it to (not a failure; no retry). */
export class JobCancelled extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} was cancelled`);
    this.name = "JobCancelled";
  }
}

export async function runJob(deps: RunnerDeps, jobId: string): Promise<RunOutcome> {
  const { db, store } = deps;
  const job = await startAttempt(db, jobId);
  if (!job) {
    const row = await db.job.findUnique({ where: { id: jobId } });
    // An open job with a cancel request ends cancelled, whoever sees it first (this attempt or the request).
    if (row?.cancelRequestedAt && (row.state === "running" || row.state === "queued"))
      throw new JobCancelled(jobId);
    return { status: "already-finished", state: row?.state ?? "missing" };
  }
  const attempt = job.attempts;
  deps.onAttempt?.(attempt);
  const maxPreemptions = deps.maxPreemptions ?? 20;
  if (job.preemptions > maxPreemptions) throw new TooManyPreemptions(jobId, job.preemptions, maxPreemptions);
  const kind = job.kind as JobKind;
  const handler = (deps.handlers ?? defaultHandlers)[kind] as
    | ((spec: unknown, ports: Ports) => Promise<HandlerResult>)
    | undefined;
  if (!handler) throw new UserError("bad_request", `job kind ${kind} is not available on this worker`);
  // A stored spec that no longer parses (an older schema) is bad input: fail at once, do not retry.
  const parsed = jobSpecByKind[kind].safeParse(job.spec);
  if (!parsed.success) throw specError(parsed.error.issues);
  const spec = parsed.data as { model: string; device?: DeviceName };
  const device = attemptDevice(spec.device, deps.device ?? "cpu");
  const registry = registryReader(db);
  const input = await registry.resolveVersion(job.teamId, spec.model);
  if (job.inputVersionId !== input.id) await setInputVersion(db, job.id, input.id);

  // What an earlier, dead attempt uploaded is not referenced by any row: remove it before starting.
  await store.deletePrefix(jobOutputPrefix(job.teamId, job.id));
  await store.abortUploads?.(jobOutputPrefix(job.teamId, job.id));

  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(deps.signal?.reason);
  deps.signal?.addEventListener("abort", onOuterAbort, { once: true });
  let current = true;
  const poll = setInterval(async () => {
    try {
      const row = await db.job.findUnique({
        where: { id: jobId },
        select: { cancelRequestedAt: true, attempts: true },
      });
      if (row && row.attempts !== attempt) {
        current = false;
        controller.abort(new AttemptSuperseded(jobId, attempt));
      } else if (row?.cancelRequestedAt) controller.abort(new JobCancelled(jobId));
    } catch {
      // A missed poll only delays cancellation.
    }
  }, deps.cancelPollMs ?? 1000);
  // Scratch of this attempt; earlier attempts' and dead processes' scratch on this machine goes (work-folders.ts).
  const work = await openWorkFolder(join(deps.cacheDir, "work"), job.id, attempt);
  const workDir = work.dir;
  const sink = new DbProgressSink(db, job.id, 500, deps.progress, job.parentJobId, () => current);
  // Saved training state is written only while this attempt is the job's current one.
  const stillCurrent = async () => {
    if (!(await isCurrentAttempt(db, jobId, attempt)) && !(await isCancelRequested(db, jobId))) {
      current = false;
      throw new AttemptSuperseded(jobId, attempt);
    }
  };
  // Versions and Hub snapshots this attempt reads stay pinned in their caches until it ends.
  const pins: (() => Promise<void>)[] = [];
  // Made on first use: a job that never touches the Hub does not read its configuration.
  let hubDeps: HubDeps | undefined;
  const hub = () => (hubDeps ??= deps.hub ?? hubDepsFromEnv(process.env, join(deps.cacheDir, "hub")));
  const ports: Ports = {
    artifacts: store,
    registry,
    checkpoints: new StoreCheckpoints(store, job.teamId, {
      cache: new VersionCache(deps.cacheDir, deps.versionCacheMaxBytes ?? versionCacheMaxBytes()),
      onPin: (release) => pins.push(release),
      scratchDir: workDir,
      assertCurrent: stillCurrent,
      hubVersion: (v, signal) => materializeHubVersion(db, hub(), v, signal, (release) => pins.push(release)),
    }),
    hub: hubPublisher(db, hub, deps.hubEnvToken),
    progress: sink,
    signal: controller.signal,
    context: { jobId: job.id, teamId: job.teamId, workDir, input, attempt, device },
    importance: importanceStore(db, job.teamId, job.id),
  };
  const uploaded: string[] = [];
  try {
    const result = await handler(spec, ports);
    controller.signal.throwIfAborted();
    if (result.spawn?.length) {
      await sink.flush();
      const children = result.spawn.map((raw) => {
        const kind = raw.kind as JobKind;
        const child = jobSpecByKind[kind].parse(raw) as JobSpec;
        return {
          id: uuidv7(),
          kind,
          spec: child as Record<string, unknown>,
          inputVersionId: null,
          parentJobId: job.id,
        };
      });
      const jobs = await awaitChildren(db, job, attempt, children, { outbox: deps.outbox });
      if (!jobs) throw new AttemptSuperseded(jobId, attempt);
      return { status: "waiting", jobs };
    }
    const success = await publish(store, job, attempt, input.id, result, uploaded, controller.signal);
    await sink.flush();
    const versionId = await recordSuccess(db, { ...success, attempt });
    if (job.parentJobId) await pipelineProgress(db, job.parentJobId).catch(() => {});
    return {
      status: "succeeded",
      result: { ...result.summary, ...(versionId ? { outputVersionId: versionId } : {}) },
    };
  } catch (e) {
    await sink.flush();
    // (If the store is down now, the next attempt or the sweeper removes them.)
    if (uploaded.length) {
      await store.delete(uploaded).catch(() => {});
      await store.abortUploads?.(attemptOutputPrefix(job.teamId, job.id, attempt)).catch(() => {});
    }
    if (
      controller.signal.aborted &&
      (controller.signal.reason instanceof JobCancelled ||
        controller.signal.reason instanceof AttemptSuperseded)
    )
      throw controller.signal.reason;
    // A cancel that landed after the last poll: the handler may have finished meanwhile, and recordSuccess
    // then refused the result (JobNoLongerRunning). The job was cancelled, not failed: retrying it would
    // put it back in the queue, where no attempt can start a job with a cancel request.
    if (await isCancelRequested(db, jobId).catch(() => false)) throw new JobCancelled(jobId);
    // The reason is shown to the team: no local paths of this worker.
    if (e instanceof Error)
      e.message = stableReason(e.message, [
        [workDir, "work"],
        [deps.cacheDir, "cache"],
      ]);
    throw e;
  } finally {
    clearInterval(poll);
    deps.signal?.removeEventListener("abort", onOuterAbort);
    for (const release of pins) await release().catch(() => {});
    await work.close();
  }
}

/**
 * The device an attempt computes on: the spec's, else the worker's. Jobs are not routed by device (one queue
 * per kind), so a cuda job taken by a cpu worker fails at once with the reason instead of running slowly on
 * the CPU or waiting for a GPU that may never come.
 */
export function attemptDevice(asked: DeviceName | undefined, worker: DeviceName): DeviceName {
  if (asked === "cuda" && worker !== "cuda")
    throw new UserError(
      "bad_request",
      "device cuda: this worker has no GPU (WORKER_DEVICE=cpu); run GPU workers (WORKER_DEVICE=cuda) for this kind, or leave device unset to run on the worker that takes the job",
    );
  return asked ?? worker;
}

/** Uploads (and verifies) a handler's outputs; records every key in `uploaded` as it goes. */
async function publish(
  store: ArtifactStore,
  { teamId, id: jobId }: { teamId: string; id: string },
  attempt: number,
  inputVersionId: string,
  r: HandlerResult,
  uploaded: string[],
  signal: AbortSignal,
) {
  const put = async (key: string, path: string, name: string, type?: string): Promise<NamedObject> => {
    signal.throwIfAborted();
    uploaded.push(key);
    return { ...(await store.putFile(key, path, type, signal)), name };
  };
  let version: Parameters<typeof recordSuccess>[1]["version"];
  if (r.version) {
    const prefix = checkpointPrefix(teamId, jobId, attempt);
    const files: NamedObject[] = [];
    for (const f of await listFiles(r.version.dir))
      files.push(await put(prefix + f, join(r.version.dir, f), f));
    version = { ...r.version, storagePrefix: prefix, files };
  }
  const artifacts: NamedObject[] = [];
  for (const a of r.artifacts)
    artifacts.push(
      await put(attemptOutputPrefix(teamId, jobId, attempt) + a.name, a.path, a.name, a.contentType),
    );
  return { jobId, teamId, inputVersionId, version, artifacts, metrics: r.metrics, summary: r.summary };
}

async function isCancelRequested(db: PrismaClient, jobId: string): Promise<boolean> {
  const row = await db.job.findUnique({ where: { id: jobId }, select: { cancelRequestedAt: true } });
  return Boolean(row?.cancelRequestedAt);
}
