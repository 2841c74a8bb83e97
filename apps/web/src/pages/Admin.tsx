// Team admin (admin keys only; the API refuses a member key with 403 as well): API keys, webhooks,
// promotion rules and the audit log.
import { SetAliasRulesBody } from "@shortened/contracts/teams";
import { type FormEvent, useState } from "react";
import { api, done, ok } from "../lib/api.js";
import { ago, time } from "../lib/format.js";
import { useLoad } from "../lib/hooks.js";
import type { JobState, Session } from "../lib/types.js";

const WEBHOOK_STATES: JobState[] = ["running", "succeeded", "failed", "cancelled"];

import { ErrorNote } from "./common.js";

export default function Admin({ session }: { session: Session }) {
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Team admin: {session.team.name}</h1>
      <Keys session={session} />
      <Webhooks />
      <Rules />
      <Audit />
    </section>
  );
}

function useAction(after: () => void) {
  const [error, setError] = useState<Error>();
  const run = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
      after();
    } catch (e) {
      setError(e as Error);
    }
  };
  return { error, run };
}

function Keys({ session }: { session: Session }) {
  const keys = useLoad(() => ok(api.GET("/v1/keys")), []);
  const { error, run } = useAction(keys.reload);
  const [name, setName] = useState("");
  const [role, setRole] = useState<"admin" | "member">("member");
  const [shown, setShown] = useState<{ name: string; key: string }>();
  const create = (e: FormEvent) => {
    e.preventDefault();
    run(async () => {
      const k = await ok(api.POST("/v1/keys", { body: { name, role } }));
      setShown({ name: k.name, key: k.apiKey });
      setName("");
    });
  };
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <ErrorNote error={error ?? keys.error} />
      {shown && (
        <div role="status" className="ok">
          New key <strong>{shown.name}</strong> (shown once; copy it now):{" "}
          <code className="secret">{shown.key}</code>
        </div>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Role</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys.data?.items.map((k) => {
            const revoked = k.revokedAt && Date.parse(k.revokedAt) <= Date.now();
            return (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                  {k.id === session.key.id && " (this session)"}
                </td>
                <td>{k.role}</td>
                <td>{ago(k.lastUsedAt)}</td>
                <td>
                  {revoked ? "revoked" : k.revokedAt ? `rotated, works until ${time(k.revokedAt)}` : "active"}
                </td>
                <td>
                  {!k.revokedAt && (
                    <span className="actions">
                      <button
                        type="button"
                        className="secondary"
                        onClick={() =>
                          run(async () => {
                            const r = await ok(
                              api.POST("/v1/keys/{id}/rotate", {
                                params: { path: { id: k.id } },
                                body: { graceSeconds: 3600 },
                              }),
                            );
                            setShown({ name: r.name, key: r.apiKey });
                          })
                        }
                      >
                        Rotate<span className="sr-only"> key {k.name}</span>
                      </button>
                      <button
                        type="button"
                        className="danger"
                        onClick={() =>
                          run(() => done(api.DELETE("/v1/keys/{id}", { params: { path: { id: k.id } } })))
                        }
                      >
                        Revoke<span className="sr-only"> key {k.name}</span>
                      </button>
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <form className="inline-form" onSubmit={create}>
        <label>
          Key name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as "admin" | "member")}>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit">Create key</button>
      </form>
      <p className="hint">
        Rotating keeps the old key working for an hour (for scripts) but ends its dashboard sessions now.
      </p>
    </section>
  );
}

function Webhooks() {
  const hooks = useLoad(() => ok(api.GET("/v1/webhooks")), []);
  const { error, run } = useAction(hooks.reload);
  const [url, setUrl] = useState("");
  const [states, setStates] = useState<JobState[]>(["succeeded", "failed"]);
  const [secret, setSecret] = useState<string>();
  return (
    <section aria-labelledby="hooks-title">
      <h2 id="hooks-title">Webhooks</h2>
      <ErrorNote error={error ?? hooks.error} />
      {secret && (
        <div role="status" className="ok">
          Signing secret (shown once): <code className="secret">{secret}</code>
        </div>
      )}
      <ul>
        {hooks.data?.items.map((h) => (
          <li key={h.id}>
            <code>{h.url}</code> on {h.states.length ? h.states.join(", ") : "every state change"}{" "}
            <button
              type="button"
              className="danger"
              onClick={() =>
                run(() => done(api.DELETE("/v1/webhooks/{id}", { params: { path: { id: h.id } } })))
              }
            >
              Delete<span className="sr-only"> webhook {h.url}</span>
            </button>
          </li>
        ))}
      </ul>
      {hooks.data?.items.length === 0 && <p>No webhooks.</p>}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          run(async () => {
            const r = await ok(api.POST("/v1/webhooks", { body: { url, states } }));
            setSecret(r.secret);
            setUrl("");
          });
        }}
      >
        <label>
          URL
          <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} required />
        </label>
        <fieldset className="inline">
          <legend>On</legend>
          {WEBHOOK_STATES.map((s) => (
            <label key={s} className="check">
              <input
                type="checkbox"
                checked={states.includes(s)}
                onChange={(e) => setStates(e.target.checked ? [...states, s] : states.filter((x) => x !== s))}
              />
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit">Add webhook</button>
      </form>
    </section>
  );
}

function Rules() {
  const models = useLoad(() => ok(api.GET("/v1/models", { params: { query: { limit: 100 } } })), []);
  const [model, setModel] = useState("");
  const [alias, setAlias] = useState("prod");
  const [text, setText] = useState(
    '[{"type": "max_metric_increase", "metric": "ppl_wikitext2", "max": 1.0}]',
  );
  const [saved, setSaved] = useState<string>();
  const { error, run } = useAction(() => {});
  const modelId = model || models.data?.items[0]?.id || "";
  const load = () =>
    run(async () => {
      const a = await ok(
        api.GET("/v1/models/{id}/aliases/{alias}", { params: { path: { id: modelId, alias } } }),
      );
      setText(JSON.stringify(a.rules, null, 2));
    });
  return (
    <section aria-labelledby="rules-title">
      <h2 id="rules-title">Promotion rules</h2>
      <ErrorNote error={error} />
      <form
        className="rules-form"
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(undefined);
          run(async () => {
            let rules: unknown;
            try {
              rules = JSON.parse(text);
            } catch {
              throw new Error("the rules must be a JSON list");
            }
            // The API's own schema (packages/contracts) checks them first and types the body.
            const body = SetAliasRulesBody.safeParse({ rules });
            if (!body.success) {
              const issue = body.error.issues[0];
              throw new Error(`invalid rules: ${issue.path.join(".")}: ${issue.message}`);
            }
            await done(
              api.PUT("/v1/models/{id}/aliases/{alias}/rules", {
                params: { path: { id: modelId, alias } },
                body: body.data,
              }),
            );
            setSaved(`Saved the rules of @${alias}.`);
          });
        }}
      >
        <label>
          Model
          <select value={modelId} onChange={(e) => setModel(e.target.value)}>
            {models.data?.items.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Alias
          <input value={alias} onChange={(e) => setAlias(e.target.value)} required />
        </label>
        <button type="button" className="secondary" onClick={load}>
          Load current rules
        </button>
        <label className="wide">
          <span>
            Rules (JSON): <code>max_metric_increase</code> {"{metric, max, relative?, against?}"} or{" "}
            <code>min_speedup</code> {"{batch?, min, against?}"}
          </span>
          <textarea rows={5} value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <button type="submit">Save rules</button>
        {saved && (
          <p role="status" className="ok">
            {saved}
          </p>
        )}
      </form>
    </section>
  );
}

function Audit() {
  const audit = useLoad(() => ok(api.GET("/v1/audit", { params: { query: { limit: 50 } } })), [], 10_000);
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <ErrorNote error={audit.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">By key</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {audit.data?.items.map((a) => (
            <tr key={a.id}>
              <td>{time(a.createdAt)}</td>
              <td>{a.action}</td>
              <td>
                {a.targetType} <code>{a.targetId?.slice(-8) ?? ""}</code>
              </td>
              <td>
                <code>{a.actorKeyId?.slice(-8) ?? "–"}</code>
              </td>
              <td className="protocol">{JSON.stringify(a.data)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
