// bench/faults/api-kill-burst: kill -9 of the API process while a burst of job submissions is in flight
// (issue 12 item 3, for the README's "Reliability" figures). Per round: N prune jobs are POSTed at once, each
// with its own Idempotency-Key; the API process (`shortened serve`) is killed after the first K answers; a new
// API process starts on the same port; the client sends every request of the burst again with the same key
// (what a client does after a dropped connection). Then a worker runs everything. What must hold: every job
// acknowledged before the kill (201) is answered again with the same id (200), every key has exactly one job,
// no job stays queued, and each job ran once to one version.
//
//   bash /work/team/heavy.sh node --conditions=development --import tsx bench/faults/api-kill-burst.ts \
//     [--rounds 3] [--burst 60]
//
// Needs PostgreSQL and Redis on 127.0.0.1 (as the tests). Writes bench/results/faults-api-kill.json.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createTeam, openPostgres } from "@shortened/adapters";
import {
  createTestDatabase,
  deleteRedisPrefix,
  REDIS_URL,
  repoRoot,
  runId,
  serviceEnv,
  startS3,
  startWorkerProcess,
  stopWorker,
  until,
} from "../../test/helpers/service.js";

const { values: args } = parseArgs({
  options: { rounds: { type: "string", default: "3" }, burst: { type: "string", default: "60" } },
});
const rounds = Number(args.rounds);
const burst = Number(args.burst);
const cliMain = join(repoRoot, "apps", "cli", "src", "main.ts");

const [database, s3] = await Promise.all([createTestDatabase(), startS3()]);
const prefix = `apikill-${runId()}`;
const port = 20000 + Math.floor(Math.random() * 20000);
const url = `http://127.0.0.1:${port}`;
const cacheRoot = mkdtempSync(join(os.tmpdir(), "shortened-apikill-"));
const env = serviceEnv(
  {
    databaseUrl: database.url,
    redisUrl: REDIS_URL,
    s3Endpoint: s3.endpoint,
    bucket: "apikill",
    queuePrefix: prefix,
  },
  {
    S3_REGION: "us-east-1",
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
    RATE_LIMIT_PER_MINUTE: "0",
    // The default lock: a live worker on a loaded machine keeps its jobs (no preemption that was none).
    WORKER_LOCK_MS: "30000",
  },
);

/** `shortened serve` as a child process; resolves once it listens. */
async function startApi(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--conditions=development",
      "--import",
      "tsx",
      cliMain,
      "serve",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
    ],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("listening on")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`api exited ${code}: ${err.slice(-2000)}`)));
  });
  return child;
}

const t0 = Date.now();
let api = await startApi();
const db = await openPostgres(database.url, { migrate: "skip" });
const { apiKey, teamId } = await createTeam(db.prisma, `team-${prefix}`);
const headers = { authorization: `Bearer ${apiKey}` };
const tar = execFileSync("tar", ["-cf", "-", "-C", join(repoRoot, "models", "tinystories-llama-8L"), "."], {
  maxBuffer: 64 * 1024 * 1024,
});
const up = await fetch(`${url}/v1/models/upload?name=tiny`, {
  method: "POST",
  headers: { ...headers, "content-type": "application/x-tar" },
  body: tar,
});
if (up.status !== 201) throw new Error(`upload: ${up.status} ${await up.text()}`);

const submit = async (key: string, blocks: number[]) => {
  const r = await fetch(`${url}/v1/jobs`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify({ kind: "prune", model: "tiny@1", blocks }),
  });
  return { status: r.status, id: ((await r.json()) as { id?: string }).id };
};

interface Round {
  round: number;
  sent: number;
  killedAfter: number;
  acknowledged: number;
  droppedByKill: number;
  resentSameId: number;
  keysWithOneJob: number;
  succeededOnce: number;
  /** jobs that needed more than one attempt (preemptions) */
  retried: number;
  retryReasons: string[];
  stuck: number;
  problems: string[];
}
const results: Round[] = [];
const worker = startWorkerProcess({ ...env, WORKER_CACHE_DIR: cacheRoot, WORKER_CONCURRENCY: "2" });
await worker.ready;
try {
  for (let round = 0; round < rounds; round++) {
    const keys = Array.from({ length: burst }, (_, i) => `r${round}-k${i}`);
    const blocks = (i: number) => [1 + ((i + round) % 6)];
    // Kill after a different share of the answers each round (a sixth, a third, a half).
    const killAfter = Math.max(1, Math.round((burst * ((round % 3) + 1)) / 6));
    const acked = new Map<string, string>();
    let answered = 0;
    let killed: Promise<void> | null = null;
    const victim = api;
    await Promise.all(
      keys.map(async (k, i) => {
        try {
          const r = await submit(k, blocks(i));
          if ((r.status === 201 || r.status === 200) && r.id) acked.set(k, r.id);
        } catch {
          // the connection died with the API
        }
        if (++answered >= killAfter && !killed)
          killed = new Promise<void>((res) => {
            victim.once("exit", () => res());
            victim.kill("SIGKILL");
          });
      }),
    );
    await killed;
    api = await startApi();
    // The client sends the whole burst again with the same keys.
    const problems: string[] = [];
    let resentSameId = 0;
    const ids = new Map<string, string>();
    for (const [i, k] of keys.entries()) {
      const r = await submit(k, blocks(i));
      if (!r.id) {
        problems.push(`${k}: resend answered ${r.status}`);
        continue;
      }
      ids.set(k, r.id);
      if (acked.has(k)) {
        if (acked.get(k) === r.id && r.status === 200) resentSameId++;
        else problems.push(`${k}: acknowledged ${acked.get(k)}, resend gave ${r.status} ${r.id}`);
      }
    }
    const rows = await db.prisma.job.findMany({ where: { teamId, idempotencyKey: { in: keys } } });
    const perKey = new Map<string, number>();
    for (const r of rows) perKey.set(r.idempotencyKey!, (perKey.get(r.idempotencyKey!) ?? 0) + 1);
    const keysWithOneJob = keys.filter((k) => perKey.get(k) === 1).length;
    if (keysWithOneJob !== burst) problems.push(`${burst - keysWithOneJob} keys without exactly one job`);
    // Everything runs to its end (the reconciler and the outbox leave nothing queued).
    const jobIds = [...ids.values()];
    const ended = await until(
      "every job of the round to end",
      async () => {
        const open = await db.prisma.job.count({
          where: { id: { in: jobIds }, state: { in: ["queued", "running"] } },
        });
        return open === 0 ? true : null;
      },
      600_000,
      500,
    ).catch(() => false);
    const stuck = ended
      ? 0
      : await db.prisma.job.count({ where: { id: { in: jobIds }, state: { in: ["queued", "running"] } } });
    let succeededOnce = 0;
    let retried = 0;
    const retryReasons: string[] = [];
    for (const id of jobIds) {
      const j = await db.prisma.job.findUniqueOrThrow({ where: { id } });
      const versions = await db.prisma.modelVersion.count({ where: { producedByJobId: id } });
      // (An attempt beyond the first is a preemption: on a loaded machine a live worker can miss its lock.)
      if (j.state === "succeeded" && versions === 1 && j.attempts === j.preemptions + 1) succeededOnce++;
      else
        problems.push(
          `${id}: ${j.state} attempts ${j.attempts} preemptions ${j.preemptions} versions ${versions} ${j.reason ?? ""}`,
        );
      if (j.attempts > 1) {
        retried++;
        const lines = await db.prisma.jobEvent.findMany({ where: { jobId: id, type: "log" } });
        for (const l of lines) {
          const line = String((l.data as { line?: string }).line ?? "");
          if (/attempt \d+ failed|preempt|released/.test(line)) retryReasons.push(line.slice(0, 300));
        }
      }
    }
    const r: Round = {
      round,
      sent: burst,
      killedAfter: killAfter,
      acknowledged: acked.size,
      droppedByKill: burst - acked.size,
      resentSameId,
      keysWithOneJob,
      succeededOnce,
      retried,
      retryReasons,
      stuck,
      problems,
    };
    results.push(r);
    console.log(JSON.stringify(r));
  }
} finally {
  await stopWorker(worker);
  api.kill("SIGTERM");
  await db.close();
  await s3.close();
  await database.drop();
  await deleteRedisPrefix(prefix);
  rmSync(cacheRoot, { recursive: true, force: true });
}
const out = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length}× ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  loadAverage: os.loadavg().map((x) => Number(x.toFixed(1))),
  seconds: Math.round((Date.now() - t0) / 1000),
  rounds: results,
  totals: {
    sent: results.reduce((a, r) => a + r.sent, 0),
    acknowledged: results.reduce((a, r) => a + r.acknowledged, 0),
    resentSameId: results.reduce((a, r) => a + r.resentSameId, 0),
    succeededOnce: results.reduce((a, r) => a + r.succeededOnce, 0),
    retried: results.reduce((a, r) => a + r.retried, 0),
    stuck: results.reduce((a, r) => a + r.stuck, 0),
    problems: results.reduce((a, r) => a + r.problems.length, 0),
  },
};
writeFileSync(
  new URL("../results/faults-api-kill.json", import.meta.url),
  `${JSON.stringify(out, null, 2)}\n`,
);
console.log(JSON.stringify(out.totals));
if (out.totals.problems) process.exitCode = 1;
process.exit();
