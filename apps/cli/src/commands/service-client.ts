// The `jobs` and `models` commands talk either to a running service (--server URL --key KEY, or
// SHORTENED_SERVER / SHORTENED_API_KEY) over HTTP, or, by default, to the embedded mode (PGlite and a
// local folder under --state-dir) through the same functions the API uses. Both return API JSON.

import { openAsBlob } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import * as reg from "@shortened/adapters";
import { artifactJson, eventJson, jobJson, metricJson, modelJson, versionJson } from "@shortened/api";
import { type JobKind, UserError } from "@shortened/contracts";
import {
  cancelJob,
  defaultStateDir,
  type Embedded,
  listFiles,
  localTeamId,
  openEmbedded,
  registerFromFolder,
  retryJob,
  submitJob,
} from "@shortened/jobs";
import type { Command } from "commander";
import { runCommand } from "../output.js";
import { interruptSignal, stderrProgress } from "./embedded-progress.js";

type Json = Record<string, unknown>;

export interface ServiceClient {
  submit(spec: unknown, idempotencyKey?: string): Promise<Json>;
  job(id: string): Promise<Json>;
  jobs(q: Record<string, string>): Promise<Json>;
  cancel(id: string): Promise<Json>;
  retry(id: string): Promise<Json>;
  events(id: string, after?: string): Promise<Json>;
  jobArtifacts(id: string): Promise<Json>;
  registerFolder(name: string, dir: string): Promise<Json>;
  registerUri(name: string, uri: string): Promise<Json>;
  models(q: Record<string, string>): Promise<Json>;
  model(id: string): Promise<Json>;
  lineage(versionId: string): Promise<Json>;
  metrics(versionId: string): Promise<Json>;
  close(): Promise<void>;
}

export interface ClientOptions {
  server?: string;
  key?: string;
  stateDir?: string;
  quiet?: boolean;
}

export function addClientOptions<T extends { option(flags: string, desc: string): T }>(cmd: T): T {
  return cmd
    .option("--server <url>", "use a running service (default: embedded mode; or $SHORTENED_SERVER)")
    .option("--key <key>", "API key for --server (or $SHORTENED_API_KEY)")
    .option("--state-dir <dir>", "embedded state folder (default ./.shortened or $SHORTENED_HOME)");
}

/** Runs `work` with a client for the options, closing it afterwards. */
export async function withClient<T>(o: ClientOptions, work: (c: ServiceClient) => Promise<T>): Promise<T> {
  const c = await openClient(o);
  try {
    return await work(c);
  } finally {
    await c.close();
  }
}

/** Gives a `jobs`/`models` subcommand the client options and --json, and runs it through runCommand with its
 *  positional arguments, then exits 0. */
export function clientAction(
  cmd: Command,
  run: (o: ClientOptions & { json?: boolean }, ...args: string[]) => Promise<Record<string, unknown>>,
  human: (r: Record<string, unknown>) => string,
): void {
  addClientOptions(cmd).option("--json", "print one JSON object");
  cmd.action(async (...args: unknown[]) => {
    const o = args[args.length - 2] as ClientOptions & { json?: boolean };
    await runCommand(o, () => run(o, ...(args.slice(0, -2) as string[])), human);
    process.exit(0);
  });
}

export async function openClient(o: ClientOptions): Promise<ServiceClient> {
  const server = o.server ?? process.env.SHORTENED_SERVER;
  if (server) {
    const key = o.key ?? process.env.SHORTENED_API_KEY;
    if (!key) throw new UserError("bad_request", "--server needs --key (or SHORTENED_API_KEY)");
    return new HttpClient(server.replace(/\/+$/, ""), key);
  }
  return EmbeddedClient.open(defaultStateDir(o.stateDir), o.quiet);
}

class HttpClient implements ServiceClient {
  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  private async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Json> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.key}`,
          ...(body !== undefined && !(body instanceof FormData)
            ? { "content-type": "application/json" }
            : {}),
          ...headers,
        },
        body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
      });
    } catch (e) {
      throw new UserError("bad_request", `cannot reach ${this.base}: ${(e as Error).message}`);
    }
    const json = (await res.json().catch(() => ({}))) as Json;
    if (!res.ok) {
      const err = (json.error ?? {}) as { code?: string; message?: string };
      const msg = `${res.status} ${err.code ?? ""}: ${err.message ?? res.statusText}`;
      if (res.status < 500) throw new UserError("bad_request", msg, res.status);
      throw new Error(msg);
    }
    return json;
  }

  submit = (spec: unknown, key?: string) =>
    this.call("POST", "/v1/jobs", spec, key ? { "idempotency-key": key } : {});
  job = (id: string) => this.call("GET", `/v1/jobs/${encodeURIComponent(id)}`);
  jobs = (q: Record<string, string>) => this.call("GET", `/v1/jobs?${new URLSearchParams(q)}`);
  cancel = (id: string) => this.call("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  retry = (id: string) => this.call("POST", `/v1/jobs/${encodeURIComponent(id)}/retry`);
  events = (id: string, after?: string) =>
    this.call("GET", `/v1/jobs/${encodeURIComponent(id)}/events${after ? `?after=${after}` : ""}`);
  jobArtifacts = (id: string) => this.call("GET", `/v1/jobs/${encodeURIComponent(id)}/artifacts`);
  registerUri = (name: string, uri: string) => this.call("POST", "/v1/models", { name, uri });
  models = (q: Record<string, string>) => this.call("GET", `/v1/models?${new URLSearchParams(q)}`);
  model = (id: string) => this.call("GET", `/v1/models/${encodeURIComponent(id)}`);
  lineage = (id: string) => this.call("GET", `/v1/versions/${encodeURIComponent(id)}/lineage`);
  metrics = (id: string) => this.call("GET", `/v1/versions/${encodeURIComponent(id)}/metrics`);

  async registerFolder(name: string, dir: string): Promise<Json> {
    if (!(await stat(dir).catch(() => null))?.isDirectory())
      throw new UserError("not_found", `${dir} is not a folder`);
    const form = new FormData();
    for (const f of await listFiles(dir)) {
      if (f.includes("/"))
        throw new UserError("bad_request", `nested files are not uploaded one by one: ${f} (upload a tar)`);
      form.append("file", await openAsBlob(join(dir, f)), f);
    }
    return this.call("POST", `/v1/models/upload?name=${encodeURIComponent(name)}`, form);
  }

  async close(): Promise<void> {}
}

class EmbeddedClient implements ServiceClient {
  private constructor(
    private readonly env: Embedded,
    private readonly teamId: string,
  ) {}

  static async open(stateDir: string, quiet?: boolean): Promise<EmbeddedClient> {
    const env = await openEmbedded(stateDir, {
      progress: quiet ? undefined : stderrProgress(),
      signal: interruptSignal(),
    });
    return new EmbeddedClient(env, await localTeamId(env.db.prisma));
  }

  private get db() {
    return this.env.db.prisma;
  }

  async submit(spec: unknown, key?: string) {
    // Embedded jobs run to their end before this returns.
    const { job } = await submitJob(this.db, this.env.dispatcher, this.teamId, spec, { idempotencyKey: key });
    return jobJson(await reg.getJob(this.db, this.teamId, job.id));
  }
  job = async (id: string) => jobJson(await reg.getJob(this.db, this.teamId, id));
  async jobs(q: Record<string, string>) {
    const page = await reg.listJobs(this.db, this.teamId, {
      state: q.state as never,
      kind: q.kind as JobKind | undefined,
      cursor: q.cursor,
      limit: Number(q.limit ?? 50),
    });
    return { items: page.items.map(jobJson), nextCursor: page.nextCursor };
  }
  cancel = async (id: string) => jobJson(await cancelJob(this.db, this.env.dispatcher, this.teamId, id));
  retry = async (id: string) => {
    await retryJob(this.db, this.env.dispatcher, this.teamId, id);
    return jobJson(await reg.getJob(this.db, this.teamId, id));
  };
  async events(id: string, after?: string) {
    const page = await reg.listEvents(this.db, this.teamId, id, after, 1000);
    return { items: page.items.map(eventJson), nextCursor: page.nextCursor };
  }
  jobArtifacts = async (id: string) => ({
    items: (await reg.listArtifacts(this.db, this.teamId, { jobId: id })).map(artifactJson),
  });
  async registerFolder(name: string, dir: string) {
    const { model, version } = await registerFromFolder(this.db, this.env.store, {
      teamId: this.teamId,
      name,
      dir,
      sourceUri: `file://${dir}`,
    });
    return { ...modelJson(model), latestVersion: versionJson(version) };
  }
  async registerUri(): Promise<Json> {
    throw new UserError(
      "bad_request",
      "registering by s3:// URI needs --server (embedded mode stores files locally)",
    );
  }
  async models(q: Record<string, string>) {
    const page = await reg.listModels(this.db, this.teamId, {
      q: q.q,
      cursor: q.cursor,
      limit: Number(q.limit ?? 50),
    });
    return { items: page.items.map(modelJson), nextCursor: page.nextCursor };
  }
  async model(id: string) {
    const m = await reg.findModel(this.db, this.teamId, id);
    const versions = await reg.listVersions(this.db, this.teamId, m.id);
    return { ...modelJson(m), versions: versions.map(versionJson) };
  }
  async lineage(id: string) {
    const l = await reg.lineage(this.db, this.teamId, id);
    return {
      version: versionJson(l.version),
      ancestors: l.ancestors.map(versionJson),
      children: l.children.map(versionJson),
    };
  }
  metrics = async (id: string) => ({
    items: (await reg.listMetrics(this.db, this.teamId, { versionId: id })).map(metricJson),
  });
  close = () => this.env.close();
}
