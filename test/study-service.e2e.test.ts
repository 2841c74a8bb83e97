// A study in service mode (PostgreSQL, Redis, an S3 server on loopback, two worker processes): each phase is
// a BullMQ flow whose children run in parallel on the two workers, the study runs again after them without
// counting a preemption, and a cancel of the study ends it and every open child.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { OpenedDb } from "@shortened/adapters";
import type { ApiServer } from "@shortened/api";
import { apiCaller, type S3Server, type ServiceStack, startServiceStack, until } from "./helpers/service.js";

const EACH = { timeout: 240_000 };

describe("study jobs in service mode", () => {
  let stack: ServiceStack<S3Server>;
  let api: ApiServer;
  let db: OpenedDb;
  let key = "";
  let base = "";
  const call = apiCaller(
    () => api.url,
    () => key,
  );
  const waitJob = (id: string, ms = 180_000) =>
    until(
      `job ${id} to finish`,
      async () => {
        const r = await call("GET", `/v1/jobs/${id}`);
        return ["succeeded", "failed", "cancelled"].includes(r.body.state) ? r.body : null;
      },
      ms,
    );
  const children = async (id: string) =>
    (await db.prisma.job.findMany({ where: { parentJobId: id }, orderBy: { id: "asc" } })) ?? [];

  before(async () => {
    stack = await startServiceStack({
      bucket: "shortened-study-e2e",
      workers: 2,
      modelSources: "s3://models-src/",
      env: { OUTBOX_POLL_MS: "200" },
    });
    ({ api, db, apiKey: key } = stack);
    base = stack.baseId!;
  });

  after(() => stack?.close());

  it("runs its children in parallel on the workers and gathers the cells", EACH, async () => {
    const r = await call("POST", "/v1/jobs", {
      kind: "study",
      model: base,
      criteria: ["magnitude", "bi"],
      counts: [1, 2],
      keepFirst: 1,
      keepLast: 1,
      evaluate: [{ dataset: "tinystories", seqLen: 64, maxTokens: 2048 }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const done = await waitJob(r.body.id);
    assert.equal(done.state, "succeeded", JSON.stringify(done));
    assert.equal(done.preemptions, 0, "waiting for its children is not a preemption");
    assert.equal(done.result.cells.length, 4);
    const kids = await children(done.id);
    assert.ok(kids.every((k) => k.state === "succeeded" && k.preemptions === 0));
    assert.equal(kids.filter((k) => k.kind === "importance").length, 2);
    // The first phase (two importance jobs and the dense evaluation) ran on both workers at once.
    const first = kids.filter((k) => k.kind === "importance" || k.inputVersionId === base);
    const overlapping = first.some((a) =>
      first.some((b) => a !== b && a.startedAt! < b.finishedAt! && b.startedAt! < a.finishedAt!),
    );
    assert.ok(overlapping, JSON.stringify(first.map((k) => [k.kind, k.startedAt, k.finishedAt])));
    const names = (await call("GET", `/v1/jobs/${done.id}/artifacts`)).body.items.map(
      (a: { name: string }) => a.name,
    );
    assert.ok(names.includes("report.md") && names.includes("ppl-vs-ratio.svg"), names.join(","));
  });

  it("cancels as a whole: the study and every open child end cancelled", EACH, async () => {
    const r = await call("POST", "/v1/jobs", {
      kind: "study",
      model: base,
      criteria: ["magnitude"],
      counts: [1],
      keepFirst: 1,
      keepLast: 1,
      evaluate: [{ dataset: "wikitext2", seqLen: 128, maxTokens: 150_000, batchSize: 4 }],
    });
    const id = r.body.id;
    await until(
      "a child running",
      async () => (await children(id)).some((k) => k.state === "running"),
      60_000,
    );
    assert.equal((await call("POST", `/v1/jobs/${id}/cancel`)).status, 200);
    const done = await waitJob(id, 30_000);
    assert.equal(done.state, "cancelled");
    await until(
      "every child ended",
      async () => (await children(id)).every((k) => !["queued", "running"].includes(k.state)),
      30_000,
    );
    assert.ok((await children(id)).some((k) => k.state === "cancelled"));
  });
});
