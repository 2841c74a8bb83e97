// A model: its versions, the lineage graph, aliases with their history and rule checks (and moving one),
// the model card of the selected version rendered from Markdown, and whether it is shared.
import { type FormEvent, lazy, Suspense, useMemo, useState } from "react";
import { ApiError, api, done, ok } from "../lib/api.js";
import { num, shortId, time } from "../lib/format.js";
import { useLoad } from "../lib/hooks.js";
import { Link } from "../lib/router.js";
import type { PromotionCheck, Session, Version } from "../lib/types.js";
import { LineageGraph } from "../lineage/LineageGraph.js";
import { ErrorNote } from "./common.js";

const Markdown = lazy(() => import("./Markdown.js"));

export default function ModelPage({
  modelId,
  versionId,
  session,
}: {
  modelId: string;
  versionId?: string;
  session: Session;
}) {
  const byId = { params: { path: { id: modelId } } };
  const model = useLoad(() => ok(api.GET("/v1/models/{id}", byId)), [modelId]);
  const versions = useLoad(() => ok(api.GET("/v1/models/{id}/versions", byId)), [modelId], 5000);
  const aliases = useLoad(async () => {
    const list = await ok(api.GET("/v1/models/{id}/aliases", byId));
    return Promise.all(
      list.items.map((a) =>
        ok(
          api.GET("/v1/models/{id}/aliases/{alias}", {
            params: { path: { id: modelId, alias: a.name.slice(1) } },
          }),
        ),
      ),
    );
  }, [modelId]);
  const shared = useLoad(async () => {
    const page = await ok(api.GET("/v1/shared/models", { params: { query: { limit: 200 } } }));
    return page.items.some((m) => m.id === modelId);
  }, [modelId]);
  const list = versions.data?.items ?? [];
  const selected = list.find((v) => v.id === versionId) ?? list[list.length - 1];
  const numberOf = useMemo(() => new Map(list.map((v) => [v.id, v.number])), [list]);
  const name = model.data?.name ?? "";

  if (model.error) return <ErrorNote error={model.error} />;
  return (
    <article aria-labelledby="model-title">
      <p className="crumbs">
        <Link href="/registry">Registry</Link>
      </p>
      <h1 id="model-title">{name}</h1>
      <p>
        {model.data?.description && <>{model.data.description.replace(/\.?$/, ".")} </>}
        {model.data?.license && <>License: {model.data.license}. </>}
        <span data-testid="sharing-state">
          {shared.data === undefined
            ? ""
            : shared.data
              ? "Shared with the organisation."
              : "Private to the team."}
        </span>{" "}
        {session.role === "admin" && shared.data !== undefined && (
          <button
            type="button"
            className="secondary"
            onClick={async () => {
              if (shared.data) await done(api.DELETE("/v1/models/{id}/share", byId));
              else await done(api.PUT("/v1/models/{id}/share", byId));
              shared.reload();
            }}
          >
            {shared.data ? "Stop sharing" : "Share with the organisation"}
          </button>
        )}
      </p>

      <section aria-labelledby="lineage-title">
        <h2 id="lineage-title">Lineage</h2>
        {list.length > 0 && (
          <div className="scroll-x">
            <LineageGraph
              modelName={name}
              versions={list}
              selectedId={selected?.id}
              hrefOf={(v) => `/registry/${modelId}?version=${v.id}`}
            />
          </div>
        )}
      </section>

      <div className="two-col">
        <section aria-labelledby="versions-title">
          <h2 id="versions-title">Versions</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Kind</th>
                <th scope="col">From</th>
                <th scope="col">Made</th>
              </tr>
            </thead>
            <tbody>
              {[...list].reverse().map((v) => (
                <tr key={v.id} aria-current={v.id === selected?.id ? "true" : undefined}>
                  <td>
                    <Link href={`/registry/${modelId}?version=${v.id}`}>@{v.number}</Link>
                  </td>
                  <td>{v.kind}</td>
                  <td>{v.parentId ? `@${numberOf.get(v.parentId) ?? shortId(v.parentId)}` : "–"}</td>
                  <td>{time(v.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {selected && (
            <p>
              <Link href={`/compare?versions=${list[0]?.id},${selected.id}`}>
                Compare @{list[0]?.number} with @{selected.number}
              </Link>
            </p>
          )}
        </section>
        <section aria-labelledby="aliases-title">
          <h2 id="aliases-title">Aliases</h2>
          <ErrorNote error={aliases.error} />
          {aliases.data?.length === 0 && <p>No aliases yet.</p>}
          {aliases.data?.map((a) => (
            <div key={a.id} className="alias" data-testid={`alias-${a.name.slice(1)}`}>
              <h3>
                {a.name} → {a.versionId ? `@${numberOf.get(a.versionId) ?? shortId(a.versionId)}` : "nothing"}
              </h3>
              {a.rules.length > 0 && (
                <p className="hint">Rules: {a.rules.map((r) => JSON.stringify(r)).join("; ")}</p>
              )}
              <details>
                <summary>
                  History ({a.history?.length ?? 0} {a.history?.length === 1 ? "move" : "moves"})
                </summary>
                <ol>
                  {a.history?.map((h) => (
                    <li key={h.id}>
                      {time(h.createdAt)}: @{h.fromVersionId ? numberOf.get(h.fromVersionId) : "–"} → @
                      {numberOf.get(h.toVersionId)} <Checks checks={h.checks} />
                    </li>
                  ))}
                </ol>
              </details>
            </div>
          ))}
          <MoveAlias
            modelId={modelId}
            versions={list}
            onMoved={aliases.reload}
            defaultVersion={selected?.number}
          />
        </section>
      </div>

      {selected && (
        <section aria-labelledby="card-title">
          <h2 id="card-title">
            Model card of {name}@{selected.number}
          </h2>
          <VersionMetrics versionId={selected.id} />
          <Card versionId={selected.id} />
        </section>
      )}
    </article>
  );
}

function Checks({ checks }: { checks: PromotionCheck[] }) {
  if (!checks?.length) return <span className="hint">(no rules)</span>;
  return (
    <ul className="checks">
      {checks.map((c) => (
        <li key={c.message} className={c.passed ? "pass" : "fail"}>
          {c.passed ? "✓ passed" : "✗ broken"}: {c.message}
        </li>
      ))}
    </ul>
  );
}

function MoveAlias({
  modelId,
  versions,
  onMoved,
  defaultVersion,
}: {
  modelId: string;
  versions: Version[];
  onMoved: () => void;
  defaultVersion?: number;
}) {
  const [alias, setAlias] = useState("prod");
  const [version, setVersion] = useState<string>("");
  const [result, setResult] = useState<{ ok: boolean; message: string; checks?: PromotionCheck[] }>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setResult(undefined);
    const n = Number(version || defaultVersion);
    try {
      const r = await ok(
        api.PUT("/v1/models/{id}/aliases/{alias}", {
          params: { path: { id: modelId, alias } },
          body: { version: n },
        }),
      );
      setResult({ ok: true, message: `@${alias} now points at @${n}`, checks: r.move.checks });
      onMoved();
    } catch (err) {
      // A move that breaks a rule answers 409 with the checks in its details.
      const d = err instanceof ApiError ? err.details : undefined;
      const checks =
        d && typeof d === "object" && "checks" in d && Array.isArray(d.checks) ? d.checks : undefined;
      setResult({ ok: false, message: (err as Error).message, checks });
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-labelledby="move-alias-title">
      <h3 id="move-alias-title">Move an alias</h3>
      <label>
        Alias
        <input value={alias} onChange={(e) => setAlias(e.target.value)} required pattern="[A-Za-z0-9._-]+" />
      </label>
      <label>
        To version
        <select value={version || String(defaultVersion ?? "")} onChange={(e) => setVersion(e.target.value)}>
          {versions.map((v) => (
            <option key={v.id} value={v.number}>
              @{v.number} ({v.kind})
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Move alias</button>
      {result && (
        <div role="status" className={result.ok ? "ok" : "error"}>
          {result.message}
          {result.checks && <Checks checks={result.checks} />}
        </div>
      )}
    </form>
  );
}

function VersionMetrics({ versionId }: { versionId: string }) {
  const metrics = useLoad(
    () => ok(api.GET("/v1/versions/{id}/metrics", { params: { path: { id: versionId } } })),
    [versionId],
  );
  if (!metrics.data?.items.length) return null;
  return (
    <p className="hint">Metrics: {metrics.data.items.map((m) => `${m.name} ${num(m.value)}`).join(" · ")}</p>
  );
}

function Card({ versionId }: { versionId: string }) {
  const card = useLoad(
    () =>
      ok(
        api.GET("/v1/versions/{id}/card", {
          params: { path: { id: versionId }, query: { format: "markdown" } },
          headers: { accept: "text/markdown" },
          parseAs: "text",
        }),
      ),
    [versionId],
  );
  if (card.error) return <ErrorNote error={card.error} />;
  if (card.data === undefined) return <p className="loading">Loading the card…</p>;
  return (
    <Suspense fallback={<pre>{card.data}</pre>}>
      <Markdown source={card.data} />
    </Suspense>
  );
}
