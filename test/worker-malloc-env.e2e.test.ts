// A training job under a memory budget runs in a job process with glibc's malloc thresholds fixed, as the CLI's
// `shortened retrain --memory-budget` does (the rule: @shortened/contracts/malloc-env): the worker starts a job
// process of its own for it; other jobs keep running in the worker's pooled job process, with glibc's defaults.
// A preload in every worker process (NODE_OPTIONS) logs which process it is and the threshold it was started with.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { apiCaller, type S3Server, type ServiceStack, startServiceStack, until } from "./helpers/service.js";

const dir = mkdtempSync(join(tmpdir(), "worker-malloc-env-"));
const log = join(dir, "processes.log");
const preload = join(dir, "preload.mjs");
writeFileSync(
  preload,
  // main threads only (tsx's module hooks run the preload again in a thread of their own)
  [
    'import { appendFileSync } from "node:fs";',
    'import { basename } from "node:path";',
    'import { isMainThread } from "node:worker_threads";',
    `if (isMainThread) appendFileSync(${JSON.stringify(log)}, basename(process.argv[1] ?? "?") + " " + (process.env.MALLOC_MMAP_THRESHOLD_ ?? "unset") + "\\n");`,
  ].join("\n"),
);
/** "<entry file> <MALLOC_MMAP_THRESHOLD_>" of every job process started so far */
const jobProcesses = () =>
  (existsSync(log) ? readFileSync(log, "utf8") : "")
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("job-child"));

const ids = Array.from({ length: 4 }, (_, r) =>
  Array.from({ length: 24 }, (_, t) => 3 + ((r * 131 + t * 17) % 500)),
);
// the demo model's first version (a LoRA job's adapter becomes the name's latest version)
const lora = {
  kind: "retrain",
  model: "tiny@1",
  method: "lora",
  merge: false,
  data: { ids },
  steps: 2,
  batch: 2,
};

describe("malloc thresholds of the worker's job processes", () => {
  let stack: ServiceStack<S3Server>;
  let key = "";
  const call = apiCaller(
    () => stack.api.url,
    () => key,
  );
  const run = async (spec: object) => {
    const r = await call("POST", "/v1/jobs", spec);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const job = await until(
      "the job to end",
      async () => {
        const j = (await call("GET", `/v1/jobs/${r.body.id}`)).body;
        return ["succeeded", "failed", "cancelled"].includes(j.state) ? j : null;
      },
      180_000,
    );
    assert.equal(job.state, "succeeded", JSON.stringify(job));
  };

  before(async () => {
    stack = await startServiceStack({
      bucket: "shortened-malloc-env",
      modelSources: "s3://src/",
      env: { NODE_OPTIONS: `--import ${preload}`, WORKER_CONCURRENCY: "1" },
    });
    key = stack.apiKey;
  });
  after(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts a budgeted training job in a process of its own with the thresholds, others in the pooled one", {
    timeout: 400_000,
  }, async () => {
    // the worker's pooled job process, started with it
    await until("the pooled job process", async () => jobProcesses().length > 0);
    assert.deepEqual(jobProcesses(), ["job-child.ts unset"]);
    await run(lora);
    assert.deepEqual(
      jobProcesses(),
      ["job-child.ts unset"],
      "an unbudgeted training job runs in the pooled process",
    );
    await run({ ...lora, memoryBudget: "2G" });
    assert.deepEqual(jobProcesses(), ["job-child.ts unset", "job-child.ts 131072"]);
    // a job that does not train keeps the pooled process and glibc's defaults, budget or not
    await run({
      kind: "evaluate",
      model: "tiny@1",
      task: "ppl",
      ids: ids.flat(),
      seqLen: 32,
      memoryBudget: "2G",
    });
    assert.deepEqual(jobProcesses(), ["job-child.ts unset", "job-child.ts 131072"]);
  });
});
