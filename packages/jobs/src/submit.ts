// Submitting, cancelling and retrying jobs: the same code behind the REST API and the CLI. Specs are
// validated by the contracts' schemas, the input model is resolved to a version id (so a job always
// reads the version that was current when it was submitted), pipelines are expanded into their steps,
// and the rows are handed to a dispatcher (BullMQ in service mode, in-process in embedded mode).

import {
  endJob,
  type JobRow,
  type NewJob,
  type PrismaClient,
  redispatch,
  requestCancel,
  resetForRetry,
  resolveVersion,
  submitJobs,
  uuidv7,
} from "@shortened/adapters";
import { type ArtifactStore, type JobKind, JobSpec, PushSpec, UserError } from "@shortened/contracts";
import { availableKinds } from "./handlers/index.js";
import { planPipeline } from "./pipeline-plan.js";
import { studyCheckRows } from "./study-plan.js";
import { type ArtifactExists, checkSubmission, modelFacts } from "./submission-checks.js";

export interface DispatchJob {
  id: string;
  kind: JobKind;
  parentJobId: string | null;
}

export interface Dispatcher {
  /**
   * Service mode: the submitting transaction writes the dispatch to the job outbox, and `dispatch` only
   * nudges the relay that moves it to the queue.
   */
  readonly outbox?: boolean;
  /** Queues jobs; pipeline steps come in order, before their pipeline job. */
  dispatch(jobs: DispatchJob[], retry?: boolean): Promise<void>;
  /** Drops a job that has not started yet; running jobs see the cancel request in the database. */
  cancel(jobId: string, kind: JobKind): Promise<void>;
  /**
   * Embedded mode: this process will run the job `rootId` (and its steps) about to be written, or queued again
   * by a retry; called before the rows exist or are requeued, so that no moment leaves a queued job without a
   * live owner (stale-runs.ts).
   */
  claim?(rootId: string): void;
}

/** One line for the first schema issue, and all of them as details. */
export function specError(issues: { path: PropertyKey[]; message: string }[]): UserError {
  const first = issues[0];
  const where = first.path.length ? `${first.path.map(String).join(".")}: ` : "";
  const e = new UserError("bad_request", `invalid job spec: ${where}${first.message}`, 400);
  (e as UserError & { details?: unknown }).details = issues.map((i) => ({
    path: i.path.map(String),
    message: i.message,
  }));
  return e;
}

export async function submitJob(
  db: PrismaClient,
  dispatcher: Dispatcher,
  teamId: string,
  body: unknown,
  opts: {
    idempotencyKey?: string;
    kinds?: JobKind[];
    store?: ArtifactStore;
    /** A push job (started by POST /v1/versions/{id}/push or `models push`, never by POST /v1/jobs). */
    push?: boolean;
  } = {},
): Promise<{ job: JobRow; created: boolean }> {
  const parsed = (opts.push ? PushSpec : JobSpec).safeParse(body);
  if (!parsed.success) throw specError(parsed.error.issues);
  const spec = parsed.data;
  const kinds = opts.kinds ?? availableKinds();
  const input = await resolveVersion(db, teamId, spec.model);
  const rootId = uuidv7();
  const rows: NewJob[] = [];
  const root: NewJob = {
    id: rootId,
    kind: spec.kind,
    spec: { ...spec, model: input.id },
    inputVersionId: input.id,
    parentJobId: null,
  };
  rows.push(root);
  if (spec.kind === "pipeline") {
    for (const s of planPipeline({ ...spec, model: input.id }, rootId, uuidv7))
      rows.push({
        id: s.id,
        kind: s.spec.kind,
        spec: s.spec as Record<string, unknown>,
        inputVersionId: s.spec.model === input.id ? input.id : null,
        parentJobId: rootId,
      });
  }
  const inputConfig = (
    await db.modelVersion.findUnique({ where: { id: input.id }, select: { config: true } })
  )?.config;
  // A study's children are started as it runs: check what they will be now.
  const planned =
    spec.kind === "study"
      ? studyCheckRows(spec, modelFacts(inputConfig).layers).map((s, i) => ({ id: `study-${i}`, spec: s }))
      : [];
  await checkSubmission(
    db,
    teamId,
    inputConfig,
    [...rows, ...planned],
    opts.store && artifactExists(opts.store),
  );
  for (const r of rows)
    if (!kinds.includes(r.kind))
      throw new UserError(
        "bad_request",
        `job kind ${r.kind} is not available on this server yet (available: ${kinds.join(", ")})`,
        422,
      );
  dispatcher.claim?.(rootId);
  const out = await submitJobs(db, teamId, rows, opts.idempotencyKey, { outbox: dispatcher.outbox });
  if (out.created) await dispatchOrFail(db, dispatcher, [...rows.slice(1), root]);
  return out;
}

/** One listing of the key itself (cheap); unknown while the store is down. */
function artifactExists(store: ArtifactStore): ArtifactExists {
  return async (key) => {
    try {
      return (await store.list(key)).some((o) => o.key === key);
    } catch (e) {
      if ((e as Error).name === "ArtifactStoreUnavailable") return undefined;
      throw e;
    }
  };
}

async function dispatchOrFail(db: PrismaClient, dispatcher: Dispatcher, jobs: DispatchJob[], retry = false) {
  try {
    await dispatcher.dispatch(jobs, retry);
  } catch (e) {
    const root = jobs[jobs.length - 1];
    await endJob(
      db,
      root.id,
      "failed",
      `could not queue the job: ${(e as Error).message}`,
      "queue_unavailable",
    );
    throw e;
  }
}

export async function cancelJob(
  db: PrismaClient,
  dispatcher: Dispatcher,
  teamId: string,
  id: string,
): Promise<JobRow> {
  const job = await requestCancel(db, teamId, id);
  await dispatcher.cancel(job.id, job.kind as JobKind).catch(() => {});
  return job;
}

export async function retryJob(
  db: PrismaClient,
  dispatcher: Dispatcher,
  teamId: string,
  id: string,
): Promise<JobRow> {
  // the job is this process's before it is queued again, as a submission's is before its row is written
  const rows = await resetForRetry(db, teamId, id, { claim: (jobId) => dispatcher.claim?.(jobId) });
  const [root, ...steps] = rows;
  const queued = steps.filter((s) => s.state === "queued");
  const jobs = [...queued, root].map((r) => ({
    id: r.id,
    kind: r.kind as JobKind,
    parentJobId: r.parentJobId,
    spec: r.spec,
  }));
  if (dispatcher.outbox) await redispatch(db, root.id, root.queueKey, jobs);
  await dispatchOrFail(db, dispatcher, jobs, true);
  return rows[0];
}
