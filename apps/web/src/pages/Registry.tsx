// The registry: the team's models (search), each with its latest version; and the organisation's shared ones.
import { useState } from "react";
import { api, ok } from "../lib/api.js";
import { ago } from "../lib/format.js";
import { useLoad } from "../lib/hooks.js";
import { Link } from "../lib/router.js";
import { ErrorNote } from "./common.js";

export default function Registry() {
  const [q, setQ] = useState("");
  const models = useLoad(
    () => ok(api.GET("/v1/models", { params: { query: { q: q || undefined, limit: 100 } } })),
    [q],
    5000,
  );
  const shared = useLoad(() => ok(api.GET("/v1/shared/models")), []);
  return (
    <section aria-labelledby="registry-title">
      <h1 id="registry-title">Registry</h1>
      <search className="filters">
        <label>
          Search models
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
      </search>
      <ErrorNote error={models.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Architecture</th>
            <th scope="col">Latest version</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {models.data?.items.map((m) => (
            <tr key={m.id}>
              <td>
                <Link href={`/registry/${m.id}`}>{m.name}</Link>
                {m.description && <div className="hint">{m.description}</div>}
              </td>
              <td>{String(m.config?.architecture ?? "–")}</td>
              <td>{m.latestVersion ? `@${m.latestVersion.number} (${m.latestVersion.kind})` : "–"}</td>
              <td>{ago(m.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {models.data?.items.length === 0 && <p>No models yet: register one with the CLI or POST /v1/models.</p>}
      <h2>Shared in the organisation</h2>
      {shared.data?.items.length ? (
        <ul>
          {shared.data.items.map((m) => (
            <li key={m.id}>
              {m.name}
              {` (team ${m.team})`}
            </li>
          ))}
        </ul>
      ) : (
        <p>No shared models.</p>
      )}
    </section>
  );
}
