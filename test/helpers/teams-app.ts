// Rig for the teams tests: a fresh PostgreSQL database (migrations applied), the API on a loopback port
// with a local artifact folder and a dispatcher that only records (no worker runs: tests drive job
// states through the registry functions a worker uses), two teams with admin, member and revoked keys,
// and the demo model registered in team A.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createApiKey,
  createTeam,
  LocalStore,
  type OpenedDb,
  openPostgres,
  revokeApiKey,
} from "@shortened/adapters";
import { buildApp, type TeamOptions } from "@shortened/api";
import type { Dispatcher, DispatchJob } from "@shortened/jobs";
import { registerFromFolder } from "@shortened/jobs";
import type { FastifyInstance } from "fastify";
import { createTestDatabase, repoRoot, runId } from "./service.js";

export const demoDir = join(repoRoot, "models", "tinystories-llama-8L");

export interface TeamKeys {
  teamId: string;
  admin: string;
  member: string;
  revoked: string;
}

export interface TeamsRig {
  app: FastifyInstance;
  url: string;
  db: OpenedDb;
  /** the rig's own PostgreSQL database */
  databaseUrl: string;
  store: LocalStore;
  dispatched: DispatchJob[];
  a: TeamKeys;
  b: TeamKeys;
  /** team A's demo model */
  model: { id: string; name: string; versionId: string };
  call(
    method: string,
    path: string,
    o?: { key?: string; body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies ad hoc
  ): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  close(): Promise<void>;
}

async function keysFor(db: OpenedDb, name: string): Promise<TeamKeys> {
  const { teamId, apiKey } = await createTeam(db.prisma, name);
  const member = await createApiKey(db.prisma, teamId, "ci", "member");
  const old = await createApiKey(db.prisma, teamId, "old", "admin");
  await revokeApiKey(db.prisma, teamId, old.row.id);
  return { teamId, admin: apiKey, member: member.apiKey, revoked: old.apiKey };
}

export async function startTeamsRig(teams: Partial<TeamOptions> = {}, logger?: unknown): Promise<TeamsRig> {
  const database = await createTestDatabase();
  const db = await openPostgres(database.url);
  const dir = mkdtempSync(join(tmpdir(), "teams-store-"));
  const store = new LocalStore(dir);
  const dispatched: DispatchJob[] = [];
  const dispatcher: Dispatcher = {
    dispatch: async (jobs) => {
      dispatched.push(...jobs);
    },
    cancel: async () => {},
  };
  const app = await buildApp(
    {
      db: db.prisma,
      store,
      dispatcher,
      readiness: { database: () => db.prisma.$queryRaw`SELECT 1` },
      uploadLimitBytes: 64 * 1024 * 1024,
      bodyLimitBytes: 1024 * 1024,
      urlExpirySeconds: 60,
      teams: {
        rateLimit: false,
        webhooks: false,
        sse: { pollMs: 50, heartbeatMs: 1000 },
        // The tests' receivers listen on 127.0.0.1 over plain http: admitted like an operator would.
        destinations: { allow: ["127.0.0.1"], allowHttp: true },
        ...teams,
      },
    },
    logger ? { logger: logger as never } : {},
  );
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  const id = runId();
  const a = await keysFor(db, `team-a-${id}`);
  const b = await keysFor(db, `team-b-${id}`);
  const reg = await registerFromFolder(db.prisma, store, {
    teamId: a.teamId,
    name: "tiny",
    dir: demoDir,
    sourceUri: "upload",
    license: "MIT",
  });
  return {
    app,
    url,
    db,
    databaseUrl: database.url,
    store,
    dispatched,
    a,
    b,
    model: { id: reg.model.id, name: reg.model.name, versionId: reg.version.id },
    async call(method, path, o = {}) {
      const res = await fetch(url + path, {
        method,
        headers: {
          ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
          ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
          ...o.headers,
        },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      return { status: res.status, body, text, headers: res.headers };
    },
    async close() {
      await app.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    },
  };
}

/**
 * Plays a worker for one job: submits `spec` through the API with `key`, claims the job, stores one
 * file per output, and records the result (a new version and metrics) the way the runner does.
 */
export async function runJobAsWorker(
  rig: TeamsRig,
  key: string,
  spec: Record<string, unknown>,
  out: {
    version?: { kind: "pruned" | "retrained" | "merged"; recipe: Record<string, unknown> };
    metrics?: { name: string; value: number; protocol: Record<string, unknown>; versionId?: string }[];
  },
): Promise<{ jobId: string; versionId: string | null; teamId: string }> {
  const { startAttempt, recordSuccess } = await import("@shortened/adapters");
  const submitted = await rig.call("POST", "/v1/jobs", { key, body: spec });
  if (submitted.status !== 201) throw new Error(`submit: ${submitted.status} ${submitted.text}`);
  const job = await startAttempt(rig.db.prisma, submitted.body.id);
  if (!job) throw new Error("job could not start");
  const prefix = `teams/${job.teamId}/jobs/${job.id}/out/`;
  const file = await rig.store.putBytes(
    `${prefix}checkpoint/config.json`,
    Buffer.from('{"num_hidden_layers": 6}'),
  );
  const report = await rig.store.putBytes(`${prefix}report.json`, Buffer.from('{"ok": true}'));
  const versionId = await recordSuccess(rig.db.prisma, {
    jobId: job.id,
    teamId: job.teamId,
    inputVersionId: job.inputVersionId,
    version: out.version
      ? {
          parentId: job.inputVersionId!,
          kind: out.version.kind,
          storagePrefix: `${prefix}checkpoint/`,
          recipe: out.version.recipe,
          files: [{ ...file, name: "config.json" }],
        }
      : undefined,
    artifacts: [{ ...report, name: "report.json" }],
    metrics: out.metrics ?? [],
    summary: {},
  });
  return { jobId: job.id, versionId, teamId: job.teamId };
}

/** Team A's demo model with blocks 3 and 4 removed, by a played worker, with these metrics. */
export function pruneTinyAsWorker(
  rig: TeamsRig,
  key: string,
  metrics: { name: string; value: number; protocol: Record<string, unknown>; versionId?: string }[],
) {
  return runJobAsWorker(
    rig,
    key,
    { kind: "prune", model: rig.model.versionId, blocks: [3, 4] },
    {
      version: {
        kind: "pruned",
        recipe: { step: "prune", removed: [3, 4], criterion: "ppl+", layersBefore: 8, layersAfter: 6 },
      },
      metrics,
    },
  );
}

export const pplProtocol = (seqLen: number) => ({
  task: "ppl",
  dataset: "wikitext2",
  split: "test",
  seqLen,
  bos: "first",
  dtype: "float32",
  maxTokens: null,
});

export const latencyProtocol = (batch: number) => ({
  task: "generation",
  batch,
  promptTokens: 32,
  genTokens: 32,
  runs: 3,
  warmup: 1,
  decoding: "greedy",
  device: "cpu",
});
