// Submit a job or a pipeline with a form generated from the job-spec schemas of the API's OpenAPI
// document: defaults shown beside each field, and the API's validation errors next to the fields.

import { JobSpec } from "@shortened/contracts/jobs";
import { type FormEvent, useMemo, useState } from "react";
import { ApiError, api, ok } from "../lib/api.js";
import { useLoad } from "../lib/hooks.js";
import { navigate } from "../lib/router.js";
import {
  branchesOf,
  branchName,
  branchOf,
  branchSeed,
  errorsByPath,
  type JsonSchema,
  jobSpecSchema,
  resolve,
} from "../lib/schema.js";
import { ErrorNote, Json } from "./common.js";
import { SchemaForm } from "./SchemaForm.js";

const KINDS = ["pipeline", "study", "importance", "prune", "retrain", "evaluate", "benchmark"];
type Doc = { components: { schemas: Record<string, JsonSchema> } } & Record<string, unknown>;

/** The OpenAPI document the server serves (not an API operation, so not in the typed client). */
async function loadDocument(): Promise<Doc> {
  const res = await fetch("/openapi.json", { cache: "no-store" });
  if (!res.ok) throw new ApiError(res.status, "http_error", `GET /openapi.json: ${res.status}`);
  return res.json();
}

/** Schema issues as the API words them (`invalid job spec: path: message`, each issue in details). */
function specError(issues: { path: PropertyKey[]; message: string }[]): ApiError {
  const details = issues.map((i) => ({ path: i.path.map(String), message: i.message }));
  const first = details[0];
  const where = first.path.length ? `${first.path.join(".")}: ` : "";
  return new ApiError(400, "bad_request", `invalid job spec: ${where}${first.message}`, details);
}

export default function Submit() {
  const doc = useLoad(loadDocument, []);
  const models = useLoad(() => ok(api.GET("/v1/models", { params: { query: { limit: 100 } } })), []);
  const [kind, setKind] = useState("pipeline");
  const [value, setValue] = useState<Record<string, unknown>>({ kind: "pipeline" });
  const [errors, setErrors] = useState(new Map<string, string>());
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const top = doc.data ? jobSpecSchema(doc.data, kind) : null;
  const branches = top ? branchesOf(top).map((b) => resolve(b, doc.data!)) : [];
  const branch = branches.length ? branchOf(top!, value) : -1;
  const schema = branches.length ? branches[branch] : top;
  const suggestions = useMemo(
    () => ({ model: (models.data?.items ?? []).map((m) => m.name) }),
    [models.data],
  );

  const pickKind = (k: string) => {
    setKind(k);
    setValue({ kind: k });
    setErrors(new Map());
    setError(undefined);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErrors(new Map());
    setError(undefined);
    try {
      // The API's own job-spec schema (packages/contracts) checks the form first: the same issues the API
      // would answer with, next to their fields, and a typed body for the client.
      const spec = JobSpec.safeParse(value);
      if (!spec.success) throw specError(spec.error.issues);
      const job = await ok(api.POST("/v1/jobs", { body: spec.data }));
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      setError(err as Error);
      if (err instanceof ApiError) setErrors(errorsByPath(err.details));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="submit-title">
      <h1 id="submit-title">Submit a job</h1>
      <ErrorNote error={doc.error} />
      <form onSubmit={submit} className="spec-form" noValidate>
        <div className="field">
          <label htmlFor="job-kind">Job kind</label>
          <select id="job-kind" value={kind} onChange={(e) => pickKind(e.target.value)}>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </div>
        {branches.length > 0 && (
          <div className="field">
            <label htmlFor="job-variant">Variant</label>
            <select
              id="job-variant"
              value={branch}
              onChange={(e) => setValue({ ...branchSeed(branches[Number(e.target.value)]), kind })}
            >
              {branches.map((b, i) => (
                <option key={branchName(b, i)} value={i}>
                  {branchName(b, i)}
                </option>
              ))}
            </select>
          </div>
        )}
        {schema && doc.data && (
          <SchemaForm
            schema={schema}
            root={doc.data}
            value={value}
            onChange={(v) => setValue(v as Record<string, unknown>)}
            errors={errors}
            suggestions={suggestions}
          />
        )}
        {errors.get("") && (
          <p className="field-error" role="alert">
            {errors.get("")}
          </p>
        )}
        <ErrorNote error={error} />
        <details>
          <summary>The spec as JSON</summary>
          <Json value={value} label="job spec to submit" />
        </details>
        <button type="submit" disabled={busy}>
          {busy ? "Submitting…" : `Submit ${kind}`}
        </button>
      </form>
    </section>
  );
}
