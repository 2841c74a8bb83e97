// The quantize job in embedded mode: a "quantized" version whose parent is its input, in the GPTQ layout, with its
// report; the same bytes in file mode (the CLI's `quantize`); bad input refused with nothing registered.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalStore, OpenedDb } from "@shortened/adapters";
import { isUserError } from "@shortened/contracts";
import type { InProcessDispatcher } from "./embedded.js";
import { FolderRun } from "./folder-run.js";
import { submitJob } from "./submit.js";
import {
  closeEmbeddedSetup,
  DEMO_MODEL,
  openEmbeddedSetup,
  readVersionFile,
} from "./test-support/embedded-setup.js";

// The demo model's MLP is 172 wide: 8 bits fill whole words (172·8/32 = 43), 4 bits do not.
const spec = {
  kind: "quantize",
  model: "tiny@1",
  bits: 8,
  groupSize: -1,
  calibration: { dataset: "tinystories", n: 8, seqLen: 64 },
  threads: 1,
} as const;

describe("quantize job (embedded)", { timeout: 300_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let baseId: string;
  let dispatcher: InProcessDispatcher;

  before(async () => {
    ({ db, dir, store, teamId, baseId, dispatcher } = await openEmbeddedSetup("shortened-quantize-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  const versionFile = (versionId: string, name: string) => readVersionFile({ db, store }, versionId, name);

  it("publishes a quantized version of its input with a report, the bytes of file mode", async () => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, spec);
    const done = await db.prisma.job.findUniqueOrThrow({
      where: { id: job.id },
      include: { outputVersion: true },
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const v = done.outputVersion!;
    assert.equal(v.kind, "quantized");
    assert.equal(v.parentId, baseId);
    const config = JSON.parse((await versionFile(v.id, "config.json")).toString()) as Record<string, unknown>;
    assert.deepEqual((config["quantization_config"] as Record<string, unknown>)["bits"], 8);
    const summary = done.result as {
      layers: number;
      bytesBefore: number;
      bytesAfter: number;
      dampRetries: number;
    };
    assert.equal(summary.layers, 8 * 7);
    assert.ok(summary.bytesAfter < summary.bytesBefore);
    const report = await db.prisma.artifact.findFirstOrThrow({
      where: { jobId: job.id, name: "quantize-report.json" },
    });
    const r = JSON.parse(readFileSync(store.pathOf(report.key), "utf8")) as { layers: { loss: number }[] };
    assert.equal(r.layers.length, 56);
    assert.ok(r.layers.every((l) => l.loss >= 0));

    const run = new FolderRun({ model: DEMO_MODEL });
    try {
      const { kind: _k, model: _m, ...fields } = spec;
      const f = await run.run("quantize", fields);
      const bytes = await versionFile(v.id, "model.safetensors");
      assert.ok(readFileSync(join(f.version!.dir, "model.safetensors")).equals(bytes));
    } finally {
      run.close();
    }

    // an already quantized version is refused at submission
    await assert.rejects(
      submitJob(db.prisma, dispatcher, teamId, { ...spec, model: v.id }),
      (e: unknown) => isUserError(e) && /already quantized/.test((e as Error).message),
    );
  });

  it("fails with a reason and registers nothing when the bits cannot pack the linears", async () => {
    const before = await db.prisma.modelVersion.count();
    const { job } = await submitJob(db.prisma, dispatcher, teamId, { ...spec, bits: 4 });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "failed");
    assert.match(done.reason ?? "", /times 4 bits must fill whole 32-bit words/);
    assert.equal(await db.prisma.modelVersion.count(), before);
  });

  it("sizes the calibration by quantizeCalibration: rows given as ids used all, at their length", async () => {
    // (Before, the general calibration defaults applied: n 8 refused these 5 rows and seqLen 128 was asked of 24.)
    const ids = Array.from({ length: 5 }, (_, r) =>
      Array.from({ length: 24 }, (_, t) => 1 + ((r * 31 + t * 7) % 500)),
    );
    const { job } = await submitJob(db.prisma, dispatcher, teamId, { ...spec, calibration: { ids } });
    const done = await db.prisma.job.findUniqueOrThrow({
      where: { id: job.id },
      include: { outputVersion: true },
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const calibration = (done.outputVersion!.recipe as { calibration: { n: number; seqLen: number } })
      .calibration;
    assert.deepEqual([calibration.n, calibration.seqLen], [5, 24]);
  });

  it("fails when the calibration has fewer rows than asked", async () => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      ...spec,
      calibration: { ids: [[1, 2, 3, 4, 5, 6, 7, 8]], n: 4, seqLen: 8 },
    });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "failed");
    assert.match(done.reason ?? "", /has 1 rows, fewer than calibration.n 4/);
  });

  it("fails before any compute when the memory budget cannot hold it, and records the plan when it can", async () => {
    const before = await db.prisma.modelVersion.count();
    const { job } = await submitJob(db.prisma, dispatcher, teamId, { ...spec, memoryBudget: "200M" });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "failed");
    assert.match(
      done.reason ?? "",
      /quantizing does not fit the 200 MB budget \(option\).*would fit: `memoryBudget`/,
    );
    assert.equal(await db.prisma.modelVersion.count(), before);
    const run = new FolderRun({ model: DEMO_MODEL });
    try {
      const { kind: _k, model: _m, ...fields } = spec;
      const f = await run.run("quantize", { ...fields, memoryBudget: "2G", batchSize: 4 });
      assert.match(
        (f.summary as { plan: string }).plan,
        /^block by block, 4 calibration rows per forward, estimated peak .* of a 2\.00 GB budget \(option\)$/,
      );
    } finally {
      run.close();
    }
  });
});
