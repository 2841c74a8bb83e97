import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { WorkerMetrics } from "./metrics.js";
import type { WorkerLog } from "./worker.js";

test("worker metrics follow the job records: attempts, failures, durations, utilisation", async () => {
  const lines: string[] = [];
  const inner: WorkerLog = { info: (m) => lines.push(m), error: (m) => lines.push(m) };
  const m = new WorkerMetrics(2);
  const log = m.observe(inner);
  log.info("job started", { jobId: "a", kind: "prune", attempt: 1 });
  log.info("job started", { jobId: "b", kind: "evaluate", attempt: 1 });
  const busy = await m.registry.getSingleMetricAsString("shortened_worker_utilisation");
  assert.match(busy, /shortened_worker_utilisation 1$/m);
  log.info("job finished", { jobId: "a", status: "succeeded" });
  log.error("job attempt failed", { jobId: "b", attempt: 1, last: false, error: "timeout" });
  log.info("job started", { jobId: "b", kind: "evaluate", attempt: 2 });
  log.info("job failed (bad input)", { jobId: "b", reason: "no such block" });
  assert.deepEqual(lines.length, 6, "every record still reaches the log");

  const server = await m.serve(0, "127.0.0.1");
  try {
    const text = await (
      await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)
    ).text();
    assert.match(text, /shortened_worker_job_attempts_total\{kind="prune",outcome="succeeded"\} 1/);
    assert.match(text, /shortened_worker_job_attempts_total\{kind="evaluate",outcome="retried"\} 1/);
    assert.match(text, /shortened_worker_job_attempts_total\{kind="evaluate",outcome="failed"\} 1/);
    assert.match(text, /shortened_worker_job_failures_total\{kind="evaluate",cause="bad_input"\} 1/);
    assert.match(text, /shortened_worker_job_failures_total\{kind="evaluate",cause="error"\} 1/);
    assert.match(text, /shortened_worker_job_duration_seconds_count\{kind="prune",outcome="succeeded"\} 1/);
    assert.match(text, /shortened_worker_utilisation 0$/m);
    assert.match(text, /shortened_worker_slots 2$/m);
  } finally {
    server.close();
  }
});
