// Compare versions: metrics side by side where the protocols match (the API's reason where they do not),
// perplexity against batch-1 speed with the Pareto front, and importance curves of several criteria.
import { useMemo, useState } from "react";
import { Chart } from "../charts/Chart.js";
import { importanceOverlaySpec, qualitySpeedSpec } from "../charts/specs.js";
import { api, ok } from "../lib/api.js";
import { num, protocolText } from "../lib/format.js";
import { useLoad } from "../lib/hooks.js";
import { paretoFront } from "../lib/pareto.js";
import { navigate } from "../lib/router.js";
import { type Comparison, type Metric, resultOf, type Version } from "../lib/types.js";
import { ErrorNote } from "./common.js";

type Labeled = Version & { label: string };

export default function Compare({ query }: { query: URLSearchParams }) {
  const chosen = (query.get("versions") ?? "").split(",").filter(Boolean);
  const all = useLoad(async () => {
    const models = await ok(api.GET("/v1/models", { params: { query: { limit: 100 } } }));
    const lists = await Promise.all(
      models.items.map(async (m) =>
        (await ok(api.GET("/v1/models/{id}/versions", { params: { path: { id: m.id } } }))).items.map(
          (v): Labeled => ({ ...v, label: `${m.name}@${v.number}` }),
        ),
      ),
    );
    return lists.flat();
  }, []);
  const [picked, setPicked] = useState<string[]>(chosen);
  const comparison = useLoad(
    () =>
      chosen.length >= 2
        ? ok(api.GET("/v1/metrics/compare", { params: { query: { versions: chosen.join(",") } } }))
        : Promise.resolve(null),
    [chosen.join(",")],
  );

  return (
    <section aria-labelledby="compare-title">
      <h1 id="compare-title">Compare</h1>
      <form
        className="picker"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/compare?versions=${picked.join(",")}`);
        }}
      >
        <fieldset>
          <legend>Versions to compare (two or more)</legend>
          <div className="check-grid">
            {all.data?.map((v) => (
              <label key={v.id} className="check">
                <input
                  type="checkbox"
                  checked={picked.includes(v.id)}
                  onChange={(e) =>
                    setPicked(e.target.checked ? [...picked, v.id] : picked.filter((x) => x !== v.id))
                  }
                />
                {v.label} <span className="hint">({v.kind})</span>
              </label>
            ))}
          </div>
        </fieldset>
        <button type="submit" disabled={picked.length < 2}>
          Compare
        </button>
      </form>

      {chosen.length >= 2 && (
        <section aria-labelledby="metrics-title">
          <h2 id="metrics-title">Metrics side by side</h2>
          <ErrorNote error={comparison.error} />
          {comparison.data && <MetricsTable c={comparison.data} />}
        </section>
      )}
      {all.data && chosen.length >= 1 && <QualitySpeed versions={all.data} chosen={chosen} />}
      {all.data && chosen.length >= 1 && (
        <ImportanceOverlay version={all.data.find((v) => v.id === chosen[0])} />
      )}
    </section>
  );
}

function MetricsTable({ c }: { c: Comparison }) {
  return (
    <>
      <table data-testid="comparison">
        <thead>
          <tr>
            <th scope="col">Metric</th>
            {c.versions.map((v) => (
              <th key={v.id} scope="col" className="num">
                {v.label}
              </th>
            ))}
            <th scope="col">Protocol</th>
          </tr>
        </thead>
        <tbody>
          {c.rows.map((r) => (
            <tr key={`${r.name}-${r.protocolHash}`}>
              <th scope="row">{r.name}</th>
              {c.versions.map((v) => (
                <td key={v.id} className="num">
                  {num(r.values[v.id], 6)}
                </td>
              ))}
              <td className="protocol">{protocolText(r.protocol)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {c.notComparable.length > 0 && (
        <>
          <h3>Not compared</h3>
          <ul className="refused">
            {c.notComparable.map((r) => (
              <li key={r.name}>{r.reason}</li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

/** Every version of the compared versions' models that has both a perplexity and a batch-1 speed. */
function QualitySpeed({ versions, chosen }: { versions: Labeled[]; chosen: string[] }) {
  const models = new Set(versions.filter((v) => chosen.includes(v.id)).map((v) => v.modelId));
  const pool = versions.filter((v) => models.has(v.modelId));
  const metrics = useLoad(
    async () =>
      (
        await Promise.all(
          pool.map((v) => ok(api.GET("/v1/versions/{id}/metrics", { params: { path: { id: v.id } } }))),
        )
      ).flatMap((r) => r.items),
    [pool.map((v) => v.id).join()],
  );
  const pplNames = [
    ...new Set((metrics.data ?? []).map((m) => m.name).filter((n) => n.startsWith("ppl_"))),
  ].sort();
  const [pplName, setPplName] = useState("");
  const name = pplName || pplNames[0] || "ppl_wikitext2";
  const points = useMemo(() => {
    const latest = (vid: string, n: string, ok: (m: Metric) => boolean = () => true) =>
      (metrics.data ?? [])
        .filter((m) => m.versionId === vid && m.name === n && ok(m))
        .sort((a, b) => (a.id < b.id ? 1 : -1))[0];
    const pts = pool.flatMap((v) => {
      const ppl = latest(v.id, name);
      const speed = latest(v.id, "tokens_per_s", (m) => Number(m.protocol.batch) === 1);
      return ppl && speed ? [{ label: v.label, ppl: ppl.value, tokensPerS: speed.value }] : [];
    });
    const front = new Set(paretoFront(pts));
    return pts.map((p) => ({ ...p, front: front.has(p) }));
  }, [metrics.data, pool, name]);
  const spec = useMemo(() => qualitySpeedSpec(points, name), [points, name]);
  return (
    <section aria-labelledby="qs-title">
      <h2 id="qs-title">Quality against speed</h2>
      {pplNames.length > 1 && (
        <label>
          Perplexity
          <select value={name} onChange={(e) => setPplName(e.target.value)}>
            {pplNames.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      )}
      {points.length === 0 ? (
        <p>
          No version of these models has both {name} and a batch-1 benchmark (<code>tokens_per_s</code>) yet:
          submit an evaluate and a benchmark job for each.
        </p>
      ) : (
        <>
          <Chart
            spec={spec}
            label={`${name} against tokens/s for ${points.length} versions; Pareto front: ${points
              .filter((p) => p.front)
              .map((p) => p.label)
              .join(", ")}`}
            testId="quality-speed"
          />
          <p className="hint">
            Pareto front (no other version is both faster and better):{" "}
            {points
              .filter((p) => p.front)
              .map((p) => p.label)
              .join(", ")}
          </p>
        </>
      )}
    </section>
  );
}

/** The latest importance result of each criterion computed on one version. */
function ImportanceOverlay({ version }: { version: Labeled | undefined }) {
  const jobs = useLoad(
    async () =>
      version
        ? (
            await ok(
              api.GET("/v1/jobs", {
                params: {
                  query: { kind: "importance", state: "succeeded", model: version.modelId, limit: 100 },
                },
              }),
            )
          ).items.filter((j) => j.inputVersionId === version.id)
        : [],
    [version?.id],
  );
  const series = useMemo(() => {
    const byCriterion = new Map<string, number[]>();
    for (const j of jobs.data ?? []) {
      const { criterion, scores } = resultOf(j);
      if (typeof criterion === "string" && Array.isArray(scores) && !byCriterion.has(criterion))
        byCriterion.set(criterion, scores.map(Number));
    }
    return [...byCriterion].map(([criterion, scores]) => ({ criterion, scores }));
  }, [jobs.data]);
  const spec = useMemo(() => importanceOverlaySpec(series), [series]);
  if (!version) return null;
  return (
    <section aria-labelledby="overlay-title">
      <h2 id="overlay-title">Importance criteria on {version.label}</h2>
      {series.length === 0 ? (
        <p>No importance results on {version.label} yet.</p>
      ) : (
        <Chart
          spec={spec}
          label={`block importance of ${version.label} under ${series.map((s) => s.criterion).join(", ")}`}
          testId="importance-overlay"
        />
      )}
    </section>
  );
}
