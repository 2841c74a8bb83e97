// API benchmark on loopback with autocannon: job submission (POST /v1/jobs: validation, a job row, its
// event, a BullMQ add) and status polling (GET /v1/jobs/:id). A fresh database, a unique queue prefix
// and s3rver, as in the end-to-end tests; no worker runs, so jobs stay queued.
// Usage: node --conditions=development --import tsx bench/api/run.ts [seconds] [connections]
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { repoRoot, startServiceStack } from "../../test/helpers/service.js";

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 10);

// The bench measures the API itself, not the per-key rate limit (which would answer 429 past 1200/min).
const stack = await startServiceStack({
  bucket: "bench",
  workers: 0,
  modelSources: "s3://src/",
  env: { RATE_LIMIT_PER_MINUTE: "0" },
});
const { api, db, apiKey } = stack;
try {
  const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
  const spec = JSON.stringify({ kind: "evaluate", model: "tiny", dataset: "wikitext2", maxTokens: 4096 });
  const first = (await (
    await fetch(`${api.url}/v1/jobs`, { method: "POST", headers, body: spec })
  ).json()) as { id: string };

  const run = (title: string, path: string, opts: Record<string, unknown>) =>
    new Promise<autocannon.Result>((resolve, reject) =>
      autocannon(
        { url: api.url + path, connections, duration: seconds, headers, ...opts, title },
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
  const summary = (r: autocannon.Result) => ({
    requestsPerSec: Math.round(r.requests.average),
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    total: r.requests.total,
    non2xx: r.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(
        (r as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats ?? {},
      ).map(([k, v]) => [k, v.count]),
    ),
    errors: r.errors,
  });
  const submit = summary(await run("submit", "/v1/jobs", { method: "POST", body: spec }));
  const poll = summary(await run("poll", `/v1/jobs/${first.id}`, { method: "GET" }));
  const jobs = await db.prisma.job.count();
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, PostgreSQL + Redis on loopback`,
    seconds,
    connections,
    submit,
    poll,
    jobsCreated: jobs,
  };
  console.log(JSON.stringify(result, null, 2));
  writeFileSync(join(repoRoot, "bench", "api", "results.json"), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await stack.close();
  process.exit(0);
}
