// Service-mode test rig: a fresh PostgreSQL database per run (on the machine's server, database `test`
// as the maintenance connection), a unique BullMQ prefix on the local Redis, s3rver on a loopback port,
// the API in-process and workers as child processes (so a test can kill -9 one). s3rver accepts only
// the access key S3RVER / S3RVER.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTeam, type OpenedDb, openPostgres, S3Store } from "@shortened/adapters";
import { type ApiServer, startApiServer } from "@shortened/api";
import pg from "pg";
import S3rver from "s3rver";

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? "postgres://root@127.0.0.1:5432/test";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const cliMain = fileURLToPath(new URL("../../apps/cli/src/main.ts", import.meta.url));
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** The variables every process reads (infra/README.md, the automation contract). */
export const ENV_CONTRACT = [
  "DATABASE_URL",
  "REDIS_URL",
  "S3_ENDPOINT",
  "S3_BUCKET",
  "S3_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
] as const;

export const runId = () => `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;

export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `shortened_e2e_${runId()}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startS3(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A client of one bucket on the s3rver of startS3 (its fixed S3RVER keys). */
export function s3rverStore(endpoint: string, bucket: string): S3Store {
  return new S3Store({ bucket, endpoint, accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
}

/** Copies the shipped demo model to s3://<bucket>/<prefix> on the s3rver at endpoint (to register by URI). */
export async function putDemoModel(endpoint: string, bucket: string, prefix: string): Promise<void> {
  const store = s3rverStore(endpoint, bucket);
  await store.ensureBucket();
  const demo = join(repoRoot, "models", "tinystories-llama-8L");
  for (const f of readdirSync(demo)) await store.putBytes(`${prefix}/${f}`, readFileSync(join(demo, f)));
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
  lines: Record<string, unknown>[];
  ready: Promise<void>;
  exited: Promise<number | null>;
}

/** A `shortened worker` child process; resolves `ready` on its "worker ready" log line. */
export function startWorkerProcess(env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, ["--conditions=development", "--import", "tsx", cliMain, "worker"], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  let onReady: () => void;
  let onFail: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    onReady = res;
    onFail = rej;
  });
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const j = JSON.parse(line);
        lines.push(j);
        if (j.msg === "worker ready") onReady();
      } catch {
        // not a log line
      }
      i = buf.indexOf("\n");
    }
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((res) =>
    child.on("exit", (code) => {
      onFail(new Error(`worker exited ${code}: ${stderr.slice(-2000)}`));
      res(code);
    }),
  );
  return { child, lines, ready, exited };
}

export async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill("SIGTERM");
  const t = setTimeout(() => w.child.kill("SIGKILL"), 10_000);
  await w.exited;
  clearTimeout(t);
}

export async function until<T>(
  what: string,
  f: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Removes every Redis key of a test run's queue prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const { redisConnection } = await import("@shortened/adapters");
  const r = redisConnection(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    r.disconnect();
  }
}

/** A private redis-server (append-only file in a temp folder) that a test may stop and start again. */
export async function startPrivateRedis(): Promise<{
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), "redis-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", dir],
      {
        stdio: "ignore",
      },
    );
    const { redisConnection } = await import("@shortened/adapters");
    await until(
      "redis to answer",
      async () => {
        const r = redisConnection(`redis://127.0.0.1:${port}`);
        r.on("error", () => {});
        try {
          return (await r.ping()) === "PONG";
        } catch {
          return false;
        } finally {
          r.disconnect();
        }
      },
      10_000,
      100,
    );
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((res) => {
      c.once("exit", () => res());
      c.kill("SIGTERM");
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The environment of a test stack's API and workers: its database, Redis, s3rver bucket and queue prefix,
 *  with short lock, stall and retry timings so that a killed worker's job moves on within about ten seconds. */
export function serviceEnv(
  o: { databaseUrl: string; redisUrl: string; s3Endpoint: string; bucket: string; queuePrefix: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl,
    S3_ENDPOINT: o.s3Endpoint,
    S3_BUCKET: o.bucket,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    PORT: "0",
    QUEUE_PREFIX: o.queuePrefix,
    // The lock is renewed every half lock by the worker's main process (the job runs in a child process);
    // on a machine loaded 8x over its cores that process can wait seconds for a CPU, so the lock must
    // outlast that, or a live worker's job is taken over (a preemption that was none). bench/faults/lock-margin.ts
    // (2026-12-04, 2 cores at load 20-23): 1 s gave 1 false preemption in 8 LoRA jobs, 3 s and 8 s none.
    WORKER_LOCK_MS: "8000",
    WORKER_STALLED_INTERVAL_MS: "1000",
    JOB_BACKOFF_MS: "300",
    LOG_LEVEL: "silent",
    ...extra,
  };
}

/** A JSON client of the API at urlOf() with the bearer key keyOf() (none while it is ""); a string body is
 *  sent as is (malformed-body tests), anything else as JSON. The reply body is parsed, null when empty. */
export function apiCaller(urlOf: () => string, keyOf: () => string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const key = keyOf();
    const res = await fetchWithCause(urlOf() + path, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined && typeof body !== "string" ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

/** fetch, with the network error's cause in the message ("fetch failed" alone says nothing). */
export async function fetchWithCause(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `${(e as Error).message} (${init?.method ?? "GET"} ${url}): ${cause?.code ?? ""} ${cause?.message ?? ""}`,
    );
  }
}

export interface S3Server {
  endpoint: string;
  close(): Promise<void>;
}
type PrivateRedis = Awaited<ReturnType<typeof startPrivateRedis>>;

export interface ServiceStackOptions<S extends S3Server> {
  /** the artifact store's bucket */
  bucket: string;
  /** worker processes started with the stack, awaited ready (default 1) */
  workers?: number;
  /** MODEL_SOURCES of the API and workers, e.g. "s3://src/": the demo model is put in that bucket under "tiny"
   *  and registered as "tiny" by URI (s3://src/tiny) in the stack's team */
  modelSources?: string;
  /** more environment of the API and the workers */
  env?: Record<string, string>;
  /** more environment of the API alone */
  apiEnv?: Record<string, string>;
  /** a private redis-server that the test may stop and start (default: the machine's, under a unique prefix) */
  privateRedis?: boolean;
  /** the S3 server (default: startS3) */
  s3?: () => Promise<S>;
  /** the queue prefix, also in the team's name (default: `<bucket>-<runId>`) */
  prefix?: string;
  /** false: no team (the test makes its own; teamId and apiKey are "") */
  team?: boolean;
}

export interface ServiceStack<S extends S3Server> {
  api: ApiServer;
  db: OpenedDb;
  s3: S;
  /** set with privateRedis */
  redis?: PrivateRedis;
  redisUrl: string;
  /** the environment of the workers (the API's lacks apiEnv) */
  env: Record<string, string>;
  prefix: string;
  /** a temp folder removed on close; workers' caches are under it */
  dir: string;
  /** the team `team-<prefix>` and its admin key ("" with team: false) */
  teamId: string;
  apiKey: string;
  /** the demo model's version registered as "tiny" (with modelSources) */
  baseId?: string;
  /** the running workers (spawnWorker adds to it; close stops them all) */
  workers: WorkerProcess[];
  /** one more worker process with its own cache folder (not awaited) */
  spawnWorker(extra?: Record<string, string>): WorkerProcess;
  close(): Promise<void>;
}

/** A service-mode test stack (see the top of this file): a fresh database, Redis, S3, the API in-process, a
 *  team, optionally the demo model, and worker processes. Whatever was started is closed when setup fails. */
export async function startServiceStack<S extends S3Server = S3Server>(
  o: ServiceStackOptions<S>,
): Promise<ServiceStack<S>> {
  const closers: (() => Promise<unknown> | undefined)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const prefix = o.prefix ?? `${o.bucket}-${runId()}`;
    const dir = mkdtempSync(join(tmpdir(), `shortened-${o.bucket}-`));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const [database, s3, redis] = await Promise.all([
      createTestDatabase(),
      (o.s3 ?? (startS3 as () => Promise<S>))(),
      o.privateRedis ? startPrivateRedis() : undefined,
    ]);
    closers.push(() => database.drop());
    if (redis) closers.push(() => redis.close());
    else closers.push(() => deleteRedisPrefix(prefix));
    closers.push(() => s3.close());
    const redisUrl = redis?.url ?? REDIS_URL;
    const env = serviceEnv(
      { databaseUrl: database.url, redisUrl, s3Endpoint: s3.endpoint, bucket: o.bucket, queuePrefix: prefix },
      {
        S3_REGION: "us-east-1",
        AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
        ...(o.modelSources ? { MODEL_SOURCES: o.modelSources } : {}),
        ...o.env,
      },
    );
    const api = await startApiServer({ ...env, ...o.apiEnv }, { host: "127.0.0.1", logger: false });
    closers.push(() => api.close());
    const db = await openPostgres(database.url, { migrate: "skip" });
    closers.push(() => db.close());
    const { teamId, apiKey } =
      o.team === false ? { teamId: "", apiKey: "" } : await createTeam(db.prisma, `team-${prefix}`);
    let baseId: string | undefined;
    if (o.modelSources) {
      const source = new URL(o.modelSources);
      const at = `${source.pathname.replace(/^\/|\/$/g, "")}/tiny`.replace(/^\//, "");
      await putDemoModel(s3.endpoint, source.host, at);
      const r = await apiCaller(
        () => api.url,
        () => apiKey,
      )("POST", "/v1/models", { name: "tiny", uri: `s3://${source.host}/${at}` });
      if (r.status !== 201)
        throw new Error(`registering the demo model: ${r.status} ${JSON.stringify(r.body)}`);
      baseId = r.body.latestVersion.id;
    }
    const workers: WorkerProcess[] = [];
    closers.push(() => Promise.all(workers.map(stopWorker)));
    let n = 0;
    const spawnWorker = (extra: Record<string, string> = {}) => {
      const w = startWorkerProcess({ ...env, WORKER_CACHE_DIR: join(dir, `w${++n}`), ...extra });
      workers.push(w);
      return w;
    };
    for (let i = 0; i < (o.workers ?? 1); i++) spawnWorker();
    await Promise.all(workers.map((w) => w.ready));
    return {
      api,
      db,
      s3,
      redis,
      redisUrl,
      env,
      prefix,
      dir,
      teamId,
      apiKey,
      baseId,
      workers,
      spawnWorker,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
