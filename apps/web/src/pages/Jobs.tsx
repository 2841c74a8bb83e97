// Jobs: a live list (ETag polling every 2 s: the server answers 304 while nothing changed), filters,
// progress with ETA, a pipeline's steps nested under it, cancel and retry.
import { useMemo, useRef, useState } from "react";
import { api, done, EtagCache, ok } from "../lib/api.js";
import { ago, duration, etaSeconds, pct, shortId } from "../lib/format.js";
import { useLoad } from "../lib/hooks.js";
import { VersionName } from "../lib/labels.js";
import { Link } from "../lib/router.js";
import {
  isFinished,
  JOB_KINDS,
  JOB_STATES,
  type Job,
  type JobKind,
  type JobState,
  type Session,
} from "../lib/types.js";
import { ErrorNote } from "./common.js";

const SINCE = [
  { label: "any time", ms: 0 },
  { label: "last hour", ms: 3600_000 },
  { label: "last day", ms: 86400_000 },
  { label: "last week", ms: 7 * 86400_000 },
];

export default function Jobs({ session }: { session: Session }) {
  const [state, setState] = useState<JobState>();
  const [kind, setKind] = useState<JobKind>();
  const [model, setModel] = useState("");
  const [since, setSince] = useState(0);
  const cache = useRef(new EtagCache<{ items: Job[] }>());
  const models = useLoad(() => ok(api.GET("/v1/models", { params: { query: { limit: 100 } } })), []);
  const jobs = useLoad(
    async () =>
      (
        await cache.current.get((headers) =>
          api.GET("/v1/jobs", {
            params: {
              query: {
                state,
                kind,
                model: model || undefined,
                limit: 100,
                updatedSince: since ? new Date(Date.now() - since).toISOString() : undefined,
              },
            },
            headers,
          }),
        )
      ).body,
    [state, kind, model, since],
    2000,
  );
  const tree = useMemo(() => nest(jobs.data?.items ?? []), [jobs.data]);

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <form className="filters" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select
            value={state ?? ""}
            onChange={(e) => setState(JOB_STATES.find((s) => s === e.target.value))}
          >
            <option value="">all</option>
            {JOB_STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={kind ?? ""} onChange={(e) => setKind(JOB_KINDS.find((k) => k === e.target.value))}>
            <option value="">all</option>
            {JOB_KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Model
          <select value={model} onChange={(e) => setModel(e.target.value)}>
            <option value="">all</option>
            {models.data?.items.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Updated
          <select value={since} onChange={(e) => setSince(Number(e.target.value))}>
            {SINCE.map((s) => (
              <option key={s.ms} value={s.ms}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={jobs.error} />
      {jobs.data && tree.length === 0 && (
        <p>
          No jobs match. <Link href="/submit">Submit one</Link>.
        </p>
      )}
      {tree.length > 0 && (
        <table className="jobs" aria-describedby="jobs-live">
          <caption id="jobs-live" className="sr-only">
            Jobs, newest first, updated live
          </caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">State</th>
              <th scope="col">Model</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {tree.map(({ job, depth }) => (
              <JobRow key={job.id} job={job} depth={depth} session={session} onChange={jobs.reload} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Parents first, each pipeline's steps right under it (in the order they were made). */
function nest(jobs: Job[]): { job: Job; depth: number }[] {
  const ids = new Set(jobs.map((j) => j.id));
  const children = new Map<string, Job[]>();
  for (const j of jobs)
    if (j.parentJobId && ids.has(j.parentJobId))
      children.set(j.parentJobId, [...(children.get(j.parentJobId) ?? []), j]);
  const out: { job: Job; depth: number }[] = [];
  for (const j of jobs) {
    if (j.parentJobId && ids.has(j.parentJobId)) continue;
    out.push({ job: j, depth: 0 });
    const steps = (children.get(j.id) ?? []).sort((a, b) => a.id.localeCompare(b.id));
    for (const s of steps) out.push({ job: s, depth: 1 });
  }
  return out;
}

export function StateBadge({ state, cancelRequested }: { state: string; cancelRequested?: boolean }) {
  return (
    <span className={`badge state-${state}`}>
      {state}
      {cancelRequested && state === "running" ? " (cancelling)" : ""}
    </span>
  );
}

export function ProgressCell({ job }: { job: Job }) {
  const eta = job.state === "running" ? etaSeconds(job.progress, job.startedAt) : null;
  const finished = isFinished(job.state);
  const p = job.state === "succeeded" ? 1 : job.progress;
  return (
    <div className="progress-cell">
      <progress max={1} value={p} aria-label={`${job.kind} progress`} aria-valuetext={pct(p)} />
      <span>
        {pct(p)}
        {eta !== null && ` · ETA ${duration(eta)}`}
        {finished && job.startedAt && job.finishedAt
          ? ` · took ${duration((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000)}`
          : ""}
      </span>
    </div>
  );
}

export function JobActions({ job, session, onChange }: { job: Job; session: Session; onChange: () => void }) {
  const [error, setError] = useState<string>();
  // Any key of the team may cancel or retry its jobs (admin-only actions are under Team admin).
  const allowed = session.role === "admin" || session.role === "member";
  if (!allowed || job.parentJobId) return null;
  const act = async (what: "cancel" | "retry") => {
    setError(undefined);
    try {
      const params = { path: { id: job.id } };
      await done(
        what === "cancel"
          ? api.POST("/v1/jobs/{id}/cancel", { params })
          : api.POST("/v1/jobs/{id}/retry", { params }),
      );
      onChange();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <span className="actions">
      {!isFinished(job.state) && !job.cancelRequested && (
        <button type="button" className="secondary" onClick={() => act("cancel")}>
          Cancel<span className="sr-only"> job {shortId(job.id)}</span>
        </button>
      )}
      {(job.state === "failed" || job.state === "cancelled") && (
        <button type="button" className="secondary" onClick={() => act("retry")}>
          Retry<span className="sr-only"> job {shortId(job.id)}</span>
        </button>
      )}
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

function JobRow({
  job,
  depth,
  session,
  onChange,
}: {
  job: Job;
  depth: number;
  session: Session;
  onChange: () => void;
}) {
  return (
    <tr className={depth ? "child" : undefined} data-testid={`job-${job.id}`}>
      <td>
        {depth > 0 && <span aria-hidden="true">↳ </span>}
        <Link href={`/jobs/${job.id}`}>
          {job.kind} <code>{shortId(job.id)}</code>
        </Link>
        {depth > 0 && <span className="sr-only"> (step of a pipeline)</span>}
      </td>
      <td>
        <StateBadge state={job.state} cancelRequested={job.cancelRequested} />
        {job.reason && <div className="reason">{job.reason}</div>}
      </td>
      <td>
        <VersionName id={job.inputVersionId} />
      </td>
      <td>
        <ProgressCell job={job} />
      </td>
      <td title={job.createdAt}>{ago(job.createdAt)}</td>
      <td>
        <JobActions job={job} session={session} onChange={onChange} />
      </td>
    </tr>
  );
}
