// Does a shorter BullMQ lock take jobs away from live workers on a loaded machine? The test stacks use
// WORKER_LOCK_MS=8000 (test/helpers/service.ts serviceEnv) because a worker's main process, starved of CPU,
// once renewed its locks too late and its job was counted as preempted although nobody stopped it. This
// runs the same uninterrupted LoRA jobs on two workers with each lock given and counts the preemptions
// (each one a false one: no worker is stopped), with the load average while it ran.
// Usage: node --conditions=development --import tsx bench/faults/lock-margin.ts [jobs] [lockMs ...]
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { RETRAIN_SPEC } from "../../test/helpers/preemption.js";
import { apiCaller, repoRoot, startServiceStack, until } from "../../test/helpers/service.js";

const jobs = Number(process.argv[2] ?? 4);
const locks = process.argv.slice(3).map(Number);
if (locks.length === 0) locks.push(2000, 3000, 8000);

const rows = [];
for (const lockMs of locks) {
  const stack = await startServiceStack({
    bucket: "lock",
    workers: 2,
    modelSources: "s3://src/",
    env: { WORKER_LOCK_MS: String(lockMs) },
  });
  try {
    const call = apiCaller(
      () => stack.api.url,
      () => stack.apiKey,
    );
    const started = Date.now();
    const load: number[] = [];
    const sampler = setInterval(() => load.push(loadavg()[0]!), 1000);
    const ids: string[] = [];
    for (let i = 0; i < jobs; i++) {
      const r = await call("POST", "/v1/jobs", { ...RETRAIN_SPEC, seed: 1000 + i });
      if (r.status !== 201) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
      ids.push(r.body.id);
    }
    const done = [];
    for (const id of ids)
      done.push(
        await until(
          "the job to end",
          async () => {
            const j = (await call("GET", `/v1/jobs/${id}`)).body;
            return ["succeeded", "failed", "cancelled"].includes(j.state) ? j : null;
          },
          1_200_000,
          500,
        ),
      );
    clearInterval(sampler);
    const row = {
      lockMs,
      jobs,
      succeeded: done.filter((j) => j.state === "succeeded").length,
      preemptions: done.reduce((s, j) => s + j.preemptions, 0),
      extraAttempts: done.reduce((s, j) => s + j.attempts - 1, 0),
      seconds: Math.round((Date.now() - started) / 1000),
      load1: {
        min: Math.min(...load),
        median: [...load].sort((a, b) => a - b)[Math.floor(load.length / 2)],
        max: Math.max(...load),
      },
    };
    console.log(JSON.stringify(row));
    rows.push(row);
  } finally {
    await stack.close();
  }
}
const result = {
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}`,
  spec: RETRAIN_SPEC,
  rows,
};
writeFileSync(join(repoRoot, "bench", "results", "lock-margin.json"), `${JSON.stringify(result, null, 2)}\n`);
process.exit(0);
