// One job: its spec, state timeline with attempts, live events and logs (one SSE stream, which for a
// pipeline carries its steps' events too), the live training curve, the importance chart, evaluation
// results and artifacts with downloads.
import { useMemo, useRef } from "react";
import { Chart } from "../charts/Chart.js";
import { importanceSpec, studySpec, trainingCurveSpec } from "../charts/specs.js";
import { api, EtagCache, ok } from "../lib/api.js";
import { bytes, duration, num, shortId, time } from "../lib/format.js";
import { useJobStream, useLoad } from "../lib/hooks.js";
import { VersionName, versionOf } from "../lib/labels.js";
import { Link, navigate } from "../lib/router.js";
import { type Artifact, eventText, isFinished, type Job, resultOf, type Session } from "../lib/types.js";
import { ErrorNote, Json } from "./common.js";
import { JobActions, ProgressCell, StateBadge } from "./Jobs.js";
import { importanceView, latestProgress, studyView, timeline, trainingPoints } from "./job-data.js";

export default function JobDetail({ id, session }: { id: string; session: Session }) {
  const jobCache = useRef(new EtagCache<Job>());
  const stepsCache = useRef(new EtagCache<{ items: Job[] }>());
  const stream = useJobStream(id);
  const jobLoad = useLoad(
    async () =>
      (
        await jobCache.current.get((headers) =>
          api.GET("/v1/jobs/{id}", { params: { path: { id } }, headers }),
        )
      ).body,
    [id],
    stream.ended ? undefined : 2000,
  );
  const job = jobLoad.data;
  const stepsLoad = useLoad(
    async () =>
      job?.kind === "pipeline" || job?.kind === "study"
        ? (
            await stepsCache.current.get((headers) =>
              api.GET("/v1/jobs", { params: { query: { parentJobId: id, limit: 200 } }, headers }),
            )
          ).body.items
        : [],
    [id, job?.kind],
    job && isFinished(job.state) ? undefined : 2000,
  );
  const steps = useMemo(
    () => [...(stepsLoad.data ?? [])].sort((a, b) => a.id.localeCompare(b.id)),
    [stepsLoad.data],
  );
  const finishedKey = `${job?.state}-${steps.map((s) => s.state).join()}`;
  const outputs = useLoad(async () => {
    const ids = [id, ...steps.map((s) => s.id)];
    const [metrics, artifacts] = await Promise.all([
      Promise.all(ids.map((j) => ok(api.GET("/v1/jobs/{id}/metrics", { params: { path: { id: j } } })))),
      Promise.all(ids.map((j) => ok(api.GET("/v1/jobs/{id}/artifacts", { params: { path: { id: j } } })))),
    ]);
    return { metrics: metrics.flatMap((m) => m.items), artifacts: artifacts.flatMap((a) => a.items) };
  }, [id, finishedKey]);

  const curve = useMemo(() => trainingPoints(stream.events), [stream.events]);
  const curveSpec = useMemo(() => (curve.length ? trainingCurveSpec(curve) : null), [curve]);
  const importance = useMemo(() => (job ? importanceView(job, steps) : null), [job, steps]);
  const impSpec = useMemo(
    () => (importance ? importanceSpec(importance.scores, importance.criterion, importance) : null),
    [importance],
  );
  const study = useMemo(() => (job ? studyView(job) : null), [job]);
  const studyChart = useMemo(
    () => (study?.points.length ? studySpec(study.points, study.dataset, study.dense) : null),
    [study],
  );
  const logs = stream.events.filter((e) => e.type === "log").slice(-300);
  const kindOf = new Map(steps.map((s) => [s.id, s.kind]));

  if (jobLoad.error && !job) return <ErrorNote error={jobLoad.error} />;
  if (!job) return <p className="loading">Loading…</p>;
  const latest = latestProgress(stream.events, id);
  const running = steps.find((s) => s.state === "running");
  const runningProgress = running ? latestProgress(stream.events, running.id) : latest;

  return (
    <article aria-labelledby="job-title" className="job-detail">
      <p className="crumbs">
        <Link href="/jobs">Jobs</Link>
        {job.parentJobId && (
          <>
            {" "}
            / <Link href={`/jobs/${job.parentJobId}`}>parent {shortId(job.parentJobId)}</Link>
          </>
        )}
      </p>
      <h1 id="job-title">
        {job.kind} <code>{shortId(job.id)}</code>{" "}
        <StateBadge state={job.state} cancelRequested={job.cancelRequested} />
      </h1>
      <div className="summary">
        <ProgressCell job={job} />
        {runningProgress?.step !== undefined && !isFinished(job.state) && (
          <p data-testid="step-progress">
            {running ? `${running.kind}: ` : ""}
            {runningProgress.phase ?? "step"} {runningProgress.step}/{runningProgress.totalSteps}
            {runningProgress.loss !== undefined && ` · loss ${num(runningProgress.loss)}`}
            {runningProgress.etaS !== undefined && ` · ETA ${duration(runningProgress.etaS)}`}
          </p>
        )}
        <dl>
          <dt>Input</dt>
          <dd>
            <VersionName id={job.inputVersionId} />
          </dd>
          <dt>Output</dt>
          <dd>
            {job.outputVersionId || resultOf(job).finalVersionId ? (
              <OutputLink id={String(job.outputVersionId ?? resultOf(job).finalVersionId)} />
            ) : (
              "–"
            )}
          </dd>
          <dt>Attempts</dt>
          <dd>{job.attempts}</dd>
          <dt>Stream</dt>
          <dd>{stream.ended ? "ended" : stream.live ? "live" : "connecting…"}</dd>
        </dl>
        {job.reason && (
          <p className="error" role="alert">
            <code>{job.errorCode}</code> {job.reason}
          </p>
        )}
        <JobActions job={job} session={session} onChange={jobLoad.reload} />
      </div>

      {steps.length > 0 && (
        <section aria-labelledby="steps-title">
          <h2 id="steps-title">
            {job.kind === "study"
              ? `Children: ${steps.filter((s) => s.state === "succeeded").length} of ${steps.length} done`
              : "Steps"}
          </h2>
          <ol className="steps">
            {steps.map((s) => (
              <li key={s.id}>
                <Link href={`/jobs/${s.id}`}>
                  {s.kind} <code>{shortId(s.id)}</code>
                </Link>{" "}
                <StateBadge state={s.state} /> <ProgressCell job={s} />
              </li>
            ))}
          </ol>
        </section>
      )}

      <div className="two-col">
        <section aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          <ol className="timeline">
            <li>
              <time dateTime={job.createdAt}>{time(job.createdAt)}</time> submitted
            </li>
            {timeline(stream.events, id).map((t) => (
              <li key={`${t.at}-${t.what}`}>
                <time dateTime={t.at}>{time(t.at)}</time> {t.what}
              </li>
            ))}
          </ol>
        </section>
        <section aria-labelledby="spec-title">
          <h2 id="spec-title">Spec</h2>
          <Json value={job.spec} label="job spec" />
        </section>
      </div>

      <div className="charts-row">
        {curveSpec && (
          <section aria-labelledby="curve-title">
            <h2 id="curve-title">Training curve</h2>
            <p className="hint">
              {curve.length} steps · last loss {num(curve[curve.length - 1].loss)} ·{" "}
              {Math.round(curve[curve.length - 1].tokensPerS)} tokens/s
            </p>
            <Chart
              spec={curveSpec}
              label={`training curve: loss, learning rate, gradient norm and tokens/s over ${curve.length} steps`}
              testId="training-curve"
            />
          </section>
        )}

        {impSpec && importance && (
          <section aria-labelledby="importance-title">
            <h2 id="importance-title">Block importance</h2>
            <p className="hint">
              {importance.criterion}:{" "}
              {importance.plus
                ? `the "+" rule keeps the first ${importance.keepFirst} and last ${importance.keepLast} blocks`
                : "plain order"}
              {importance.removed.length ? `; removed blocks ${importance.removed.join(", ")}` : ""}
            </p>
            <Chart
              spec={impSpec}
              label={`importance of ${importance.scores.length} blocks (${importance.criterion}); removed: ${importance.removed.join(", ") || "none"}`}
              testId="importance-chart"
            />
          </section>
        )}
      </div>

      {study && (
        <section aria-labelledby="study-title">
          <h2 id="study-title">Study</h2>
          {studyChart && (
            <Chart
              spec={studyChart}
              label={`perplexity (${study.dataset}) against pruning ratio per criterion and method`}
              testId="study-chart"
            />
          )}
          <table>
            <thead>
              <tr>
                <th scope="col">Criterion</th>
                <th scope="col">Count</th>
                <th scope="col">Removed</th>
                <th scope="col">Method</th>
                <th scope="col">PPL {study.dataset}</th>
              </tr>
            </thead>
            <tbody>
              {study.cells.map((c) => (
                <tr key={`${c.criterion}-${c.count}-${c.method}`}>
                  <td>{c.criterion}</td>
                  <td className="num">{c.count}</td>
                  <td>{c.removed.join(", ")}</td>
                  <td>{c.method}</td>
                  <td className="num">{c.ppl === null ? "–" : num(c.ppl)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      <section aria-labelledby="eval-title">
        <h2 id="eval-title">Evaluation results</h2>
        {outputs.data && outputs.data.metrics.length === 0 && <p>No metrics yet.</p>}
        {outputs.data && outputs.data.metrics.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col">Value</th>
                <th scope="col">Version</th>
                <th scope="col">Protocol</th>
              </tr>
            </thead>
            <tbody>
              {outputs.data.metrics.map((m) => (
                <tr key={m.id}>
                  <td>{m.name}</td>
                  <td className="num">{num(m.value, 6)}</td>
                  <td>
                    <VersionName id={m.versionId} />
                  </td>
                  <td className="protocol">{protocolText(m.protocol)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="artifacts-title">
        <h2 id="artifacts-title">Artifacts</h2>
        {outputs.data && outputs.data.artifacts.length === 0 && <p>No artifacts yet.</p>}
        {outputs.data && outputs.data.artifacts.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Step</th>
                <th scope="col">Size</th>
                <th scope="col">Download</th>
              </tr>
            </thead>
            <tbody>
              {outputs.data.artifacts.map((a) => (
                <tr key={a.id}>
                  <td>{a.name}</td>
                  <td>{a.jobId === id ? job.kind : (kindOf.get(a.jobId ?? "") ?? "")}</td>
                  <td className="num">{bytes(a.size)}</td>
                  <td>
                    <DownloadButton artifact={a} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="logs-title">
        <h2 id="logs-title">Events and logs</h2>
        <section
          className="log"
          aria-live="polite" // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
          tabIndex={0}
          aria-labelledby="logs-title"
        >
          {logs.length === 0 && <p>No log lines yet.</p>}
          {logs.map((e) => (
            <div key={e.seq}>
              <time dateTime={e.createdAt}>{new Date(e.createdAt).toLocaleTimeString()}</time>{" "}
              {e.jobId && e.jobId !== id && (
                <span className="tag">{kindOf.get(e.jobId) ?? shortId(e.jobId)}</span>
              )}{" "}
              {eventText(e, "line")}
            </div>
          ))}
        </section>
      </section>
    </article>
  );
}

function protocolText(p: Record<string, unknown>): string {
  return Object.entries(p)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k}=${v}`)
    .join(" · ");
}

function OutputLink({ id }: { id: string }) {
  const go = async () => {
    const v = await versionOf(id);
    if (v) navigate(`/registry/${v.modelId}?version=${v.id}`);
  };
  return (
    <a
      href={`/registry?version=${id}`}
      onClick={(e) => {
        e.preventDefault();
        go();
      }}
    >
      <VersionName id={id} />
    </a>
  );
}

export function DownloadButton({ artifact }: { artifact: Artifact }) {
  const go = async () => {
    const { url } = await ok(api.GET("/v1/artifacts/{id}/url", { params: { path: { id: artifact.id } } }));
    window.location.assign(url);
  };
  return (
    <button type="button" className="secondary" onClick={go}>
      Download<span className="sr-only"> {artifact.name}</span>
    </button>
  );
}
