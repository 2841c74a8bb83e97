// The device a job computes on: the spec's `device`, else the worker's (WORKER_DEVICE, passed to the runner),
// else cpu. A job asking for cuda on a cpu worker fails at once with the reason; an unset device on a cuda
// worker runs on CUDA (here, without the CUDA provider, that is the provider's clear failure). Each metric's
// protocol records the device the job actually used.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { OpenedDb } from "@shortened/adapters";
import type { DeviceName, JobSpecInput } from "@shortened/contracts";
import { InProcessDispatcher } from "./embedded.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

describe("the job's device: spec, else the worker's WORKER_DEVICE", { timeout: 120_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let teamId: string;
  let cpuWorker: InProcessDispatcher;
  let cudaWorker: InProcessDispatcher;

  before(async () => {
    const s = await openEmbeddedSetup("shortened-device-");
    ({ db, dir, teamId } = s);
    cpuWorker = new InProcessDispatcher(db.prisma, s.store, join(dir, "cache"), { device: "cpu" });
    cudaWorker = new InProcessDispatcher(db.prisma, s.store, join(dir, "cache"), { device: "cuda" });
  });
  after(() => closeEmbeddedSetup(db, dir));

  const ppl = (device?: DeviceName): JobSpecInput => ({
    kind: "evaluate",
    model: "tiny",
    task: "ppl",
    ids: [1, 5, 9, 13, 17, 21, 25, 29, 33],
    seqLen: 8,
    batchSize: 1,
    ...(device ? { device } : {}),
  });
  const run = async (worker: InProcessDispatcher, spec: JobSpecInput) => {
    const { job } = await submitJob(db.prisma, worker, teamId, spec);
    const row = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    const metrics = await db.prisma.metric.findMany({ where: { jobId: job.id } });
    return { row, devices: metrics.map((m) => (m.protocol as { device?: string }).device) };
  };

  it("unset stays unset in the stored spec and runs on the worker's device (cpu)", async () => {
    const { row, devices } = await run(cpuWorker, ppl());
    assert.equal(row.state, "succeeded", row.reason ?? "");
    assert.ok(!("device" in (row.spec as Record<string, unknown>)), "the stored spec keeps device unset");
    assert.deepEqual(devices, ["cpu"]);
  });

  it("cuda asked of a cpu worker fails at once with the reason, and is not retried", async () => {
    const { row, devices } = await run(cpuWorker, ppl("cuda"));
    assert.equal(row.state, "failed");
    assert.equal(row.errorCode, "bad_request");
    assert.match(row.reason ?? "", /device cuda: this worker has no GPU \(WORKER_DEVICE=cpu\)/);
    assert.equal(row.attempts, 1);
    assert.deepEqual(devices, []);
  });

  it("a cpu spec on a cuda worker runs on the CPU", async () => {
    const { row, devices } = await run(cudaWorker, ppl("cpu"));
    assert.equal(row.state, "succeeded", row.reason ?? "");
    assert.deepEqual(devices, ["cpu"]);
  });

  it("unset on a cuda worker runs on CUDA (without the provider: its clear failure)", async () => {
    const { row, devices } = await run(cudaWorker, ppl());
    if (row.state === "succeeded") assert.deepEqual(devices, ["cuda"]);
    else {
      assert.equal(row.state, "failed");
      assert.match(row.reason ?? "", /the CUDA execution provider is not installed/);
    }
  });
});
