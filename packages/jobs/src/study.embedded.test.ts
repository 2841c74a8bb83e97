// The study job in embedded mode (PGlite in memory + a local folder) on the shipped 8-block demo model:
// 2 criteria x 2 counts x {none, lora}, one perplexity evaluation. Importance runs once per criterion,
// one prune job per distinct set of removed blocks, every cell is evaluated, and the report and plots are
// published; bad grids are refused at submission; a study whose child failed resumes on retry.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { LocalStore, OpenedDb } from "@shortened/adapters";
import type { JobSpecInput } from "@shortened/contracts";
import type { InProcessDispatcher } from "./embedded.js";
import type { StudyResult } from "./study-report.js";
import { retryJob, submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

const grid = {
  kind: "study",
  model: "tiny",
  criteria: ["ppl", "magnitude"],
  counts: [1, 2],
  calibration: { dataset: "tinystories", n: 4, seqLen: 64 },
  keepFirst: 1,
  keepLast: 1,
  retrain: [
    { method: "none" },
    { method: "lora", data: { dataset: "tinystories" }, steps: 2, batch: 2, seqLen: 64, lr: 1e-3 },
  ],
  evaluate: [{ dataset: "tinystories", seqLen: 64, maxTokens: 1024 }],
} as const;

describe("study jobs", { timeout: 300_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let dispatcher: InProcessDispatcher;
  let teamId: string;
  let baseId: string;

  before(async () => {
    ({ db, dir, store, teamId, baseId, dispatcher } = await openEmbeddedSetup("shortened-study-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  // The base version by id: the study's pruned and merged versions become the latest versions of "tiny".
  const run = async (spec: object) => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      ...spec,
      model: baseId,
    } as JobSpecInput);
    return db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
  };

  it("runs the grid: importance once per criterion, shared prunes, every cell evaluated, report and plots", async () => {
    const done = await run(grid);
    assert.equal(done.state, "succeeded", done.reason ?? "");
    assert.equal(done.preemptions, 0);
    const children = await db.prisma.job.findMany({ where: { parentJobId: done.id } });
    assert.ok(children.every((c) => c.state === "succeeded"));
    const kinds = (k: string) => children.filter((c) => c.kind === k);
    assert.equal(kinds("importance").length, 2, "importance once per criterion");
    const r = done.result as unknown as StudyResult;
    assert.equal(r.cells.length, 2 * 2 * 2);
    const blockSets = new Set(r.cells.map((c) => c.removed.join(",")));
    assert.equal(kinds("prune").length, blockSets.size, "one prune per distinct block set");
    assert.equal(kinds("retrain").length, blockSets.size, "one LoRA run per pruned version");
    for (const c of r.cells) {
      assert.equal(c.removed.length, c.count);
      assert.ok(
        c.removed.every((b) => b >= 1 && b <= 6),
        "the + rule keeps the first and last block",
      );
      assert.equal(c.ratio, c.count / 8);
      const m = c.metrics.ppl_tinystories!;
      assert.ok(Number.isFinite(m.value) && m.value > 1);
      assert.equal(m.protocol.dataset, "tinystories");
      assert.equal(m.protocol.maxTokens, 1024);
      const same = r.cells.find(
        (x) => x.removed.join(",") === c.removed.join(",") && x.method === c.method && x !== c,
      );
      if (same)
        assert.equal(same.versionId, c.versionId, "criteria that pick the same blocks share a version");
    }
    // A cell's version is what its prune (none) or retrain (lora) job made, and its metric that version's.
    const versions = new Map(children.map((c) => [c.id, c]));
    for (const c of r.cells) {
      const v = await db.prisma.modelVersion.findUniqueOrThrow({ where: { id: c.versionId } });
      assert.equal(v.kind, c.method === "none" ? "pruned" : "merged");
      const metric = await db.prisma.metric.findFirstOrThrow({
        where: { versionId: c.versionId, name: "ppl_tinystories" },
      });
      assert.equal(metric.value, c.metrics.ppl_tinystories!.value);
    }
    assert.ok(versions.size > 0);
    assert.ok(r.dense.metrics.ppl_tinystories!.value < r.cells[0]!.metrics.ppl_tinystories!.value);
    assert.equal(r.dense.versionId, baseId);
    assert.deepEqual(Object.keys(r.importance), ["ppl", "magnitude"]);

    const artifacts = await db.prisma.artifact.findMany({ where: { jobId: done.id } });
    assert.deepEqual(artifacts.map((a) => a.name).sort(), [
      "blocks-removed.svg",
      "importance.svg",
      "ppl-vs-ratio.svg",
      "recovery-by-method.svg",
      "report.md",
      "study.json",
    ]);
    const read = (name: string) =>
      readFileSync(store.pathOf(artifacts.find((a) => a.name === name)!.key), "utf8");
    const md = read("report.md");
    const lines = md.split("\n").filter((l) => l.startsWith("| "));
    assert.match(lines[0]!, /\| Model \| Ratio \| Retrain \| #Param \| PPL TinyStories↓ \|/);
    assert.match(lines[2]!, /^\| tiny \(dense\) \| 0% \|/);
    assert.match(md, /\| ppl\+ −2 \[\d,\d\] \| 25% \| lora \|/);
    assert.deepEqual(JSON.parse(read("study.json")).cells, r.cells);
    for (const svg of ["ppl-vs-ratio.svg", "importance.svg", "blocks-removed.svg"])
      assert.match(read(svg), /^<svg/);

    // A second study of the same model reuses the stored importance scores.
    const again = await run({ ...grid, counts: [1], retrain: [{ method: "none" }] });
    assert.equal(again.state, "succeeded", again.reason ?? "");
    const events = await db.prisma.jobEvent.findMany({
      where: { job: { parentJobId: again.id, kind: "importance" }, type: "log" },
    });
    assert.ok(events.some((e) => /reusing the stored/.test(JSON.stringify(e.data))));
  });

  it('"reverse" removes the deepest blocks before the kept last ones, with no importance job', async () => {
    const done = await run({ ...grid, criteria: ["reverse"], counts: [2], retrain: [{ method: "none" }] });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const r = done.result as unknown as StudyResult;
    assert.deepEqual(
      r.cells.map((c) => c.removed),
      [[5, 6]],
    );
    assert.deepEqual(r.importance.reverse!.orderPlus, [6, 5, 4, 3, 2, 1]);
    const kinds = (await db.prisma.job.findMany({ where: { parentJobId: done.id } })).map((k) => k.kind);
    assert.ok(!kinds.includes("importance"));
  });

  it("sleb removes its greedy sequence; angular-band removes the closest allowed band per count", async () => {
    const done = await run({
      ...grid,
      criteria: ["sleb", "angular-band"],
      counts: [2, 3],
      retrain: [{ method: "none" }],
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const r = done.result as unknown as StudyResult;
    const children = await db.prisma.job.findMany({ where: { parentJobId: done.id, kind: "importance" } });
    const specs = children.map((c) => c.spec as { criterion: string; group?: number });
    assert.deepEqual(
      specs.map((s) => `${s.criterion}/${s.group ?? 1}`).sort(),
      ["angular/2", "angular/3", "sleb/1"],
      "sleb once; one angular job per band width",
    );
    const cell = (criterion: string, count: number) =>
      r.cells.find((c) => c.criterion === criterion && c.count === count)!;
    // SLEB: the first k of its removal sequence, so the 3-block removal contains the 2-block one.
    const sequence = r.importance.sleb!.orderPlus;
    assert.equal(sequence.length, 6);
    assert.deepEqual(
      cell("sleb", 2).removed,
      sequence.slice(0, 2).sort((a, b) => a - b),
    );
    assert.deepEqual(
      cell("sleb", 3).removed,
      sequence.slice(0, 3).sort((a, b) => a - b),
    );
    // The band: contiguous, the lowest angular distance among the starts the "+" rule allows (blocks 1..6).
    for (const n of [2, 3]) {
      const job = children.find((c) => (c.spec as { group?: number }).group === n)!;
      const scores = (job.result as { scores: number[] }).scores;
      assert.equal(scores.length, 8 - n + 1);
      const allowed = scores.map((_, l) => l).filter((l) => l >= 1 && l + n - 1 <= 6);
      const best = allowed.reduce((a, l) => (scores[l]! < scores[a]! ? l : a));
      assert.deepEqual(
        cell("angular-band", n).removed,
        Array.from({ length: n }, (_, k) => best + k),
      );
    }
    assert.equal(r.model.blocks, 8);
    assert.equal(r.importance["angular-band"]!.group, 2);
  });

  it("retrains with distillation and partial fine-tuning as cells, on the same tokens", async () => {
    const train = { data: { dataset: "tinystories" }, steps: 2, batch: 2, seqLen: 64 } as const;
    const done = await run({
      ...grid,
      criteria: ["magnitude"],
      counts: [2],
      retrain: [
        { method: "none" },
        { method: "lora", ...train, lr: 1e-3 },
        { method: "lora", ...train, lr: 1e-3, distill: { topK: 8 } },
        { method: "partial", ...train, lr: 1e-4, lastBlocks: 2 },
      ],
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const r = done.result as unknown as StudyResult;
    assert.deepEqual(
      r.cells.map((c) => c.method),
      ["none", "lora", "lora+kd", "partial"],
    );
    const retrains = await db.prisma.job.findMany({
      where: { parentJobId: done.id, kind: "retrain" },
      include: { outputVersion: true },
    });
    assert.equal(retrains.length, 3);
    const kd = retrains.find((j) => (j.spec as { distill?: unknown }).distill)!;
    // the teacher defaults to the unpruned ancestor: the study's model
    const kdCell = r.cells.find((c) => c.method === "lora+kd")!;
    assert.equal(kdCell.versionId, kd.outputVersion?.id);
    const kdMetric = await db.prisma.metric.findFirstOrThrow({
      where: { jobId: kd.id, name: "train_kd_loss" },
    });
    assert.equal(
      (kdMetric.protocol as { distill?: { teacherVersionId?: string } }).distill?.teacherVersionId,
      baseId,
    );
    const partial = retrains.find((j) => (j.spec as { method: string }).method === "partial")!;
    assert.equal(r.cells.find((c) => c.method === "partial")!.versionId, partial.outputVersion?.id);
    // four different versions, each evaluated
    assert.equal(new Set(r.cells.map((c) => c.versionId)).size, 4);
    for (const c of r.cells) assert.ok(Number.isFinite(c.metrics.ppl_tinystories!.value));
    const md = readFileSync(
      store.pathOf(
        (await db.prisma.artifact.findFirstOrThrow({ where: { jobId: done.id, name: "report.md" } })).key,
      ),
      "utf8",
    );
    assert.match(md, /\| lora\+kd \|/);
    assert.match(md, /\| partial \|/);
  });

  it("refuses bad grids at submission (422), with no job created", async () => {
    const before = await db.prisma.job.count();
    const refused = async (spec: object, re: RegExp) =>
      assert.rejects(run(spec), (e: Error & { status?: number }) => e.status === 422 && re.test(e.message));
    await refused({ ...grid, counts: [7] }, /count 7 is too large/);
    await refused({ ...grid, counts: undefined, ratios: [0.01] }, /ratio 0.01 of 8 blocks removes no block/);
    await refused(
      {
        ...grid,
        retrain: [
          { method: "lora", steps: 2, batch: 2, seqLen: 64 },
          { method: "cpt", steps: 4, batch: 2, seqLen: 64 },
        ],
      },
      /every method trains on the same tokens/,
    );
    await refused(
      { ...grid, retrain: [{ method: "none", distill: {} }] },
      /method none trains nothing, so it cannot distill/,
    );
    await refused(
      {
        ...grid,
        retrain: [
          { method: "cpt", steps: 2, batch: 2, seqLen: 64, distill: {} },
          { method: "cpt", steps: 2, batch: 2, seqLen: 64, distill: { alpha: 0.5 } },
        ],
      },
      /method cpt\+kd is listed twice/,
    );
    await refused(
      { ...grid, evaluate: [{ task: "zeroshot", tasks: ["hellaswag"] }] },
      /no data for zero-shot task hellaswag/,
    );
    assert.equal(await db.prisma.job.count(), before);
  });

  it("a failed child fails the study; a retry resumes it, keeping what succeeded", async () => {
    // Zero-shot on a task file that breaks after submission: the evaluate children fail.
    const failing = await run({
      ...grid,
      criteria: ["magnitude"],
      counts: [1],
      retrain: [{ method: "none" }],
      evaluate: [
        { dataset: "tinystories", seqLen: 64, maxTokens: 1024 },
        { task: "generate", prompts: ["x".repeat(3000)], maxNewTokens: 8 },
      ],
    });
    assert.equal(failing.state, "failed");
    assert.match(failing.reason ?? "", /step evaluate failed/);
    const firstRun = await db.prisma.job.findMany({ where: { parentJobId: failing.id, state: "succeeded" } });
    assert.ok(firstRun.length >= 1);
    // The retry runs again what failed or was cancelled (the prompt is still too long, so it fails again),
    // and keeps every child that succeeded.
    await retryJob(db.prisma, dispatcher, teamId, failing.id);
    const after = await db.prisma.job.findUniqueOrThrow({ where: { id: failing.id } });
    assert.equal(after.state, "failed");
    for (const c of firstRun) {
      const now = await db.prisma.job.findUniqueOrThrow({ where: { id: c.id } });
      assert.equal(now.attempts, c.attempts, "a child that succeeded does not run again");
    }
  });
});
