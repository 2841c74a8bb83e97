// `shortened worker`: reads the environment (DATABASE_URL, REDIS_URL, S3_*, AWS_*), applies pending
// migrations, and processes jobs until SIGTERM/SIGINT.
import { openPostgres, S3Store } from "@shortened/adapters";
import { type WorkerConfig, workerConfigFromEnv } from "./config.js";
import { WorkerMetrics } from "./metrics.js";
import { startWorker, type WorkerLog } from "./worker.js";

export const jsonLog: WorkerLog = {
  info: (msg, extra) =>
    process.stdout.write(
      `${JSON.stringify({ level: "info", time: new Date().toISOString(), msg, ...extra })}\n`,
    ),
  error: (msg, extra) =>
    process.stderr.write(
      `${JSON.stringify({ level: "error", time: new Date().toISOString(), msg, ...extra })}\n`,
    ),
};

export async function runWorkerProcess(
  over: Partial<WorkerConfig> = {},
  log: WorkerLog = jsonLog,
): Promise<void> {
  const cfg = workerConfigFromEnv(process.env, over);
  const db = await openPostgres(cfg.databaseUrl, {
    migrate: process.env.MIGRATE_ON_START === "0" ? "check" : "apply",
  });
  if (db.applied.length) log.info("migrations applied", { applied: db.applied });
  // The artifact store is opened by each job's process (job-process.ts); checked here so a bad S3_*
  // setting stops the worker at start, not its first job.
  S3Store.fromEnv();
  // WORKER_METRICS_PORT: Prometheus /metrics of this worker (job durations, failures, utilisation).
  const metrics = new WorkerMetrics(cfg.concurrency);
  const metricsPort = process.env.WORKER_METRICS_PORT;
  const metricsServer = metricsPort ? await metrics.serve(Number(metricsPort)) : null;
  const worker = await startWorker(cfg, db, metrics.observe(log));
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log.info("shutting down", { signal: sig });
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await worker.close();
  metricsServer?.close();
  await db.close();
  log.info("stopped");
}
