// `shortened worker`: a BullMQ worker (service mode), same environment as `serve`, plus tuning:
// WORKER_CONCURRENCY, WORKER_KINDS, WORKER_LOCK_MS, WORKER_STALLED_INTERVAL_MS, JOB_ATTEMPTS, JOB_BACKOFF_MS.

import type { JobKind } from "@shortened/contracts";
import { runWorkerProcess } from "@shortened/worker";
import type { Command } from "commander";
import { failAndExit } from "../output.js";

export function register(program: Command): void {
  program
    .command("worker")
    .description(
      "run a job worker (reads DATABASE_URL, REDIS_URL, S3_*, AWS_*; one job at a time by default)",
    )
    .option("--concurrency <n>", "jobs at once in this process (overrides WORKER_CONCURRENCY)")
    .option("--kinds <list>", "comma-separated job kinds to take (overrides WORKER_KINDS)")
    .action(async (opts: { concurrency?: string; kinds?: string }) => {
      try {
        await runWorkerProcess({
          ...(opts.concurrency ? { concurrency: Number(opts.concurrency) } : {}),
          ...(opts.kinds ? { kinds: opts.kinds.split(",") as JobKind[] } : {}),
        });
        process.exit(0);
      } catch (e) {
        failAndExit(e);
      }
    });
}
