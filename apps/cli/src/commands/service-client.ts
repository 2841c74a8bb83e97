// The `jobs` and `models` commands talk either to a running service (--server URL --key KEY, or
// SHORTENED_SERVER / SHORTENED_API_KEY) over HTTP, or, by default, to the embedded mode (PGlite and a
// local folder under --state-dir) through the same functions the API uses. Both return API JSON.

import { openAsBlob } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import * as reg from "@shortened/adapters";
import { artifactJson, eventJson, jobJson, metricJson, modelJson, versionJson } from "@shortened/api";
import { createShortenedClient, describeError, type ShortenedClient } from "@shortened/client";
import { finishedStates, JobKind, JobSpec, JobState, UserError } from "@shortened/contracts";
import {
  cancelJob,
  defaultStateDir,
  type Embedded,
  listFiles,
  localTeamId,
  openEmbedded,
  pushRefusal,
  registerFromFolder,
  registerFromHub,
  retryJob,
  specError,
  submitJob,
} from "@shortened/jobs";
import type { Command } from "commander";
import { runCommand } from "../output.js";
import { hubProgressBar, interruptSignal, stderrProgress } from "./embedded-progress.js";

type Json = Record<string, unknown>;

/** A `--state`/`--kind` value checked against the API's enum (exit 2 with the choices otherwise). */
function choice<T extends string>(
  flag: string,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  options: readonly string[],
  value: string | undefined,
): T | undefined {
  if (value === undefined) return undefined;
  const r = schema.safeParse(value);
  if (!r.success) throw new UserError("bad_request", `--${flag} must be one of ${options.join(", ")}`);
  return r.data;
}

export interface ServiceClient {
  submit(spec: unknown, idempotencyKey?: string): Promise<Json>;
  job(id: string): Promise<Json>;
  jobs(q: Record<string, string>): Promise<Json>;
  cancel(id: string): Promise<Json>;
  retry(id: string): Promise<Json>;
  events(id: string, after?: string): Promise<Json>;
  jobArtifacts(id: string): Promise<Json>;
  registerFolder(name: string, dir: string): Promise<Json>;
  registerUri(name: string, uri: string, tokenSecret?: string): Promise<Json>;
  push(versionId: string, body: { repo: string; private: boolean; tokenSecret?: string }): Promise<Json>;
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

/** The service over HTTP, through the typed client generated from the API's OpenAPI document. */
class HttpClient implements ServiceClient {
  private readonly api: ShortenedClient;

  constructor(
    private readonly base: string,
    key: string,
  ) {
    this.api = createShortenedClient({ baseUrl: base, apiKey: key });
  }

  /** The answer's body, or a UserError (4xx) / Error (5xx) with the API's error code and message. */
  private async call<D extends Json, E>(
    request: () => Promise<{ data?: D; error?: E; response: Response }>,
  ): Promise<D> {
    let r: { data?: D; error?: E; response: Response };
    try {
      r = await request();
    } catch (e) {
      // fetch's own message is only "fetch failed": the reason (refused, reset, timed out) is its cause.
      const cause = (e as Error).cause as { message?: string; code?: string } | undefined;
      const why = cause?.message ?? cause?.code;
      throw new UserError(
        "bad_request",
        `cannot reach ${this.base}: ${(e as Error).message}${why ? ` (${why})` : ""}`,
      );
    }
    if (r.response.ok && r.data !== undefined) return r.data;
    if (r.response.ok) throw new Error(`${r.response.status} from ${this.base} without a body`);
    const msg = describeError(r.response.status, r.error);
    if (r.response.status < 500) throw new UserError("bad_request", msg, r.response.status);
    throw new Error(msg);
  }

  async submit(spec: unknown, key?: string): Promise<Json> {
    // The API's own schema checks the user's JSON first (the same message the server would answer with)
    // and gives the typed client a typed body.
    const parsed = JobSpec.safeParse(spec);
    if (!parsed.success) throw specError(parsed.error.issues);
    return this.call(() =>
      this.api.POST("/v1/jobs", { body: parsed.data, headers: key ? { "idempotency-key": key } : {} }),
    );
  }
  job = (id: string) => this.call(() => this.api.GET("/v1/jobs/{id}", { params: { path: { id } } }));
  jobs = (q: Record<string, string>) =>
    this.call(() =>
      this.api.GET("/v1/jobs", {
        params: {
          query: {
            state: choice("state", JobState, JobState.options, q.state),
            kind: choice("kind", JobKind, JobKind.options, q.kind),
            cursor: q.cursor,
            limit: q.limit === undefined ? undefined : Number(q.limit),
          },
        },
      }),
    );
  cancel = (id: string) =>
    this.call(() => this.api.POST("/v1/jobs/{id}/cancel", { params: { path: { id } } }));
  retry = (id: string) => this.call(() => this.api.POST("/v1/jobs/{id}/retry", { params: { path: { id } } }));
  events = (id: string, after?: string) =>
    this.call(() => this.api.GET("/v1/jobs/{id}/events", { params: { path: { id }, query: { after } } }));
  jobArtifacts = (id: string) =>
    this.call(() => this.api.GET("/v1/jobs/{id}/artifacts", { params: { path: { id } } }));
  registerUri = (name: string, uri: string, tokenSecret?: string) =>
    this.call(() =>
      this.api.POST("/v1/models", { body: { name, uri, ...(tokenSecret ? { tokenSecret } : {}) } }),
    );
  /** Starts a push job and follows it to its end. */
  push = async (id: string, body: { repo: string; private: boolean; tokenSecret?: string }) => {
    if (!body.tokenSecret) throw new UserError("bad_request", "--token-secret is needed with --server");
    const { tokenSecret } = body;
    let job = await this.call(() =>
      this.api.POST("/v1/versions/{id}/push", { params: { path: { id } }, body: { ...body, tokenSecret } }),
    );
    while (!finishedStates.includes(job.state as never)) {
      await new Promise((r) => setTimeout(r, 1000));
      job = await this.call(() => this.api.GET("/v1/jobs/{id}", { params: { path: { id: job.id } } }));
    }
    return job;
  };
  models = (q: Record<string, string>) =>
    this.call(() =>
      this.api.GET("/v1/models", {
        params: {
          query: { q: q.q, cursor: q.cursor, limit: q.limit === undefined ? undefined : Number(q.limit) },
        },
      }),
    );
  /** A model with all its versions, as in embedded mode. */
  async model(id: string): Promise<Json> {
    const model = await this.call(() => this.api.GET("/v1/models/{id}", { params: { path: { id } } }));
    const versions = await this.call(() =>
      this.api.GET("/v1/models/{id}/versions", { params: { path: { id } } }),
    );
    return { ...model, versions: versions.items };
  }
  lineage = (id: string) =>
    this.call(() => this.api.GET("/v1/versions/{id}/lineage", { params: { path: { id } } }));
  metrics = (id: string) =>
    this.call(() => this.api.GET("/v1/versions/{id}/metrics", { params: { path: { id } } }));

  async registerFolder(name: string, dir: string): Promise<Json> {
    if (!(await stat(dir).catch(() => null))?.isDirectory())
      throw new UserError("not_found", `${dir} is not a folder`);
    const form = new FormData();
    for (const f of await listFiles(dir)) {
      if (f.includes("/"))
        throw new UserError("bad_request", `nested files are not uploaded one by one: ${f} (upload a tar)`);
      form.append("file", await openAsBlob(join(dir, f)), f);
    }
    return this.call(() =>
      this.api.POST("/v1/models/upload", {
        params: { query: { name } },
        body: {},
        // The files go as multipart parts (fetch sets the boundary).
        bodySerializer: () => form,
      }),
    );
  }

  async close(): Promise<void> {}
}

class EmbeddedClient implements ServiceClient {
  private constructor(
    private readonly env: Embedded,
    private readonly teamId: string,
    private readonly quiet?: boolean,
  ) {}

  static async open(stateDir: string, quiet?: boolean): Promise<EmbeddedClient> {
    const env = await openEmbedded(stateDir, {
      progress: quiet ? undefined : stderrProgress(),
      signal: interruptSignal(),
    });
    return new EmbeddedClient(env, await localTeamId(env.db.prisma), quiet);
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
      state: choice("state", JobState, JobState.options, q.state),
      kind: choice("kind", JobKind, JobKind.options, q.kind),
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
  async registerUri(name: string, uri: string, tokenSecret?: string): Promise<Json> {
    if (!reg.isHubUri(uri))
      throw new UserError(
        "bad_request",
        "registering by s3:// URI needs --server (embedded mode stores files locally)",
      );
    if (tokenSecret)
      throw new UserError(
        "bad_request",
        "--token-secret needs --server; embedded mode reads the Hub token from $HF_TOKEN",
      );
    const bar = hubProgressBar(this.quiet);
    try {
      const { model, version } = await registerFromHub(
        this.db,
        this.teamId,
        { name, uri },
        {
          hub: reg.hubDepsFromEnv(process.env, join(this.env.stateDir, "cache", "hub")),
          envToken: process.env.HF_TOKEN,
          signal: interruptSignal(),
          onProgress: bar.update,
        },
      );
      return { ...modelJson(model), latestVersion: versionJson(version) };
    } finally {
      bar.stop();
    }
  }
  /** A push job, run to its end in this process (the same handler as a worker's). */
  async push(id: string, body: { repo: string; private: boolean; tokenSecret?: string }): Promise<Json> {
    if (body.tokenSecret)
      throw new UserError(
        "bad_request",
        "--token-secret needs --server; embedded mode reads the Hub token from $HF_TOKEN",
      );
    const target = { repo: body.repo, private: body.private };
    const version = await reg.resolveVersion(this.db, this.teamId, id);
    await pushRefusal(this.db, this.teamId, version.id, target);
    const { job } = await submitJob(
      this.db,
      this.env.dispatcher,
      this.teamId,
      { kind: "push", model: version.id, ...target },
      { push: true },
    );
    return jobJson(await reg.getJob(this.db, this.teamId, job.id));
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
