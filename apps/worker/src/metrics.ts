// Prometheus metrics of a worker process, served on WORKER_METRICS_PORT at /metrics: job attempts and
// their durations by kind and outcome, failures, and utilisation (busy slots / slots). They are
// observed from the worker's structured log records (each carries the job id), so the job loop itself
// stays free of metrics code.
import { createServer, type Server } from "node:http";
import client from "prom-client";
import type { WorkerLog } from "./worker.js";

export class WorkerMetrics {
  readonly registry = new client.Registry();
  private readonly started = new Map<string, { kind: string; at: number }>();
  private readonly attempts: client.Counter;
  private readonly failures: client.Counter;
  private readonly durations: client.Histogram;
  private readonly busy: client.Gauge;

  constructor(readonly slots: number) {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: "shortened_worker_" });
    this.attempts = new client.Counter({
      name: "shortened_worker_job_attempts_total",
      help: "job attempts that ended, by kind and outcome (succeeded, failed, retried, cancelled)",
      labelNames: ["kind", "outcome"],
      registers,
    });
    this.failures = new client.Counter({
      name: "shortened_worker_job_failures_total",
      help: "failed job attempts by kind and cause (bad_input, error)",
      labelNames: ["kind", "cause"],
      registers,
    });
    this.durations = new client.Histogram({
      name: "shortened_worker_job_duration_seconds",
      help: "job attempt durations by kind and outcome",
      labelNames: ["kind", "outcome"],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600],
      registers,
    });
    this.busy = new client.Gauge({
      name: "shortened_worker_busy_slots",
      help: "jobs running now",
      registers,
    });
    new client.Gauge({
      name: "shortened_worker_slots",
      help: "jobs this worker may run at once",
      registers,
    }).set(slots);
    const self = this;
    new client.Gauge({
      name: "shortened_worker_utilisation",
      help: "busy slots / slots (1: every slot is running a job)",
      registers,
      collect() {
        this.set(self.started.size / self.slots);
      },
    });
  }

  jobStarted(jobId: string, kind: string) {
    this.started.set(jobId, { kind, at: Date.now() });
    this.busy.set(this.started.size);
  }

  jobEnded(
    jobId: string,
    outcome: "succeeded" | "failed" | "retried" | "cancelled" | "released" | "superseded",
    cause?: string,
  ) {
    const s = this.started.get(jobId);
    if (!s) return;
    this.started.delete(jobId);
    this.busy.set(this.started.size);
    this.attempts.inc({ kind: s.kind, outcome });
    this.durations.observe({ kind: s.kind, outcome }, (Date.now() - s.at) / 1000);
    if (cause) this.failures.inc({ kind: s.kind, cause });
  }

  /** A WorkerLog that also observes the job records of the worker loop (see worker.ts). */
  observe(log: WorkerLog): WorkerLog {
    return {
      info: (msg, extra) => {
        const jobId = String(extra?.jobId ?? "");
        if (msg === "job started") this.jobStarted(jobId, String(extra?.kind));
        else if (msg === "job finished") this.jobEnded(jobId, "succeeded");
        else if (msg === "job cancelled") this.jobEnded(jobId, "cancelled");
        else if (msg === "job failed (bad input)") this.jobEnded(jobId, "failed", "bad_input");
        else if (msg === "job released") this.jobEnded(jobId, "released");
        else if (msg === "attempt superseded") this.jobEnded(jobId, "superseded");
        log.info(msg, extra);
      },
      error: (msg, extra) => {
        if (msg === "job attempt failed")
          this.jobEnded(String(extra?.jobId), extra?.last ? "failed" : "retried", "error");
        log.error(msg, extra);
      },
    };
  }

  /** Serves /metrics on a port (0: any free port); resolves with the server. */
  async serve(port: number, host = "0.0.0.0"): Promise<Server> {
    const server = createServer(async (req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": this.registry.contentType });
      res.end(await this.registry.metrics());
    });
    await new Promise<void>((r) => server.listen(port, host, r));
    return server;
  }
}
