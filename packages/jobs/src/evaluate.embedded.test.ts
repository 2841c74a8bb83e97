// Evaluate jobs beyond perplexity, in embedded mode (PGlite in memory + a local folder) on the shipped demo
// model: zero-shot (4 documents of ARC-e and WinoGrande) and sample generations record their metrics with
// protocols and their artifacts (zeroshot.json / samples.json, report.json / report.md); a pipeline gathers
// its evaluations into one report; bad input fails at submission or fails the job at once with its reason.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type LocalStore, type OpenedDb, sha256File } from "@shortened/adapters";
import { type JobSpecInput, zeroShotTaskNames } from "@shortened/contracts";
import { TASKS } from "@shortened/hf";
import type { InProcessDispatcher } from "./embedded.js";
import type { EvaluationReport } from "./report.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, DEMO_MODEL, openEmbeddedSetup } from "./test-support/embedded-setup.js";

const zeroShotData = fileURLToPath(new URL("../../../data/zeroshot", import.meta.url));
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

type Protocol = Record<string, unknown> & { taskFiles: { file: string; sha256: string }[] };

describe("evaluate jobs: zero-shot, generate, report", { timeout: 120_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let dispatcher: InProcessDispatcher;
  let teamId: string;
  let baseId: string;

  before(async () => {
    ({ db, dir, store, teamId, baseId, dispatcher } = await openEmbeddedSetup("shortened-evaluate-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  const run = async (spec: JobSpecInput) => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, spec);
    return db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
  };
  /** The job's artifacts by name, each checked against its recorded sha256. */
  const artifacts = async (jobId: string) => {
    const rows = await db.prisma.artifact.findMany({ where: { jobId } });
    const out: Record<string, string> = {};
    for (const a of rows) {
      assert.equal(await sha256File(store.pathOf(a.key)), a.sha256, a.name);
      out[a.name] = readFileSync(store.pathOf(a.key), "utf8");
    }
    return out;
  };

  it("the contracts list the zero-shot tasks the task readers know", () => {
    assert.deepEqual(Object.keys(TASKS), [...zeroShotTaskNames]);
    for (const n of zeroShotTaskNames) assert.equal(TASKS[n].name, n);
  });

  it("zero-shot: one metric per task and score plus the average, each with its protocol", async () => {
    const done = await run({
      kind: "evaluate",
      model: "tiny",
      task: "zeroshot",
      tasks: ["arc_easy", "winogrande"],
      limit: 4,
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const metrics = await db.prisma.metric.findMany({ where: { jobId: done.id } });
    const byName = Object.fromEntries(metrics.map((m) => [m.name, m]));
    assert.deepEqual(Object.keys(byName).sort(), [
      "zeroshot_arc_easy_acc",
      "zeroshot_arc_easy_acc_norm",
      "zeroshot_average",
      "zeroshot_winogrande_acc",
    ]);
    assert.ok(metrics.every((m) => m.versionId === baseId && m.value >= 0 && m.value <= 1));
    const tokenizerHash = sha256(join(DEMO_MODEL, "tokenizer.json"));
    for (const [task, file] of [
      ["arc_easy", "arc_easy_test.jsonl"],
      ["winogrande", "winogrande_xl_dev.jsonl"],
    ] as const) {
      const p = byName[`zeroshot_${task}_acc`]!.protocol as Protocol;
      assert.equal(p.harness, "lm-evaluation-harness@3326c54");
      assert.equal(p.benchmark, task);
      assert.equal(p.limit, 4);
      assert.equal(p.n, 4);
      assert.equal(p.num_fewshot, 0);
      assert.equal(p.tokenizerHash, tokenizerHash);
      assert.match(String(p.software), /^shortened-engine /);
      assert.deepEqual(p.taskFiles, [{ file, sha256: sha256(join(zeroShotData, file)) }]);
    }
    assert.equal((byName.zeroshot_arc_easy_acc!.protocol as Protocol).split, "test");
    assert.equal((byName.zeroshot_winogrande_acc!.protocol as Protocol).split, "validation");

    // The stored numbers are those of the items in zeroshot.json; the average is over the paper's metrics
    // (acc for both of these tasks).
    const files = await artifacts(done.id);
    assert.deepEqual(Object.keys(files).sort(), ["report.json", "report.md", "zeroshot.json"]);
    const zs = JSON.parse(files["zeroshot.json"]!);
    for (const task of ["arc_easy", "winogrande"]) {
      const items = zs.items[task] as { acc: number; accNorm: number | null; lls: number[] }[];
      assert.equal(items.length, 4);
      assert.ok(items.every((i) => i.lls.every(Number.isFinite)));
      assert.equal(byName[`zeroshot_${task}_acc`]!.value, mean(items.map((i) => i.acc)));
      assert.equal(zs.tasks[task].n, 4);
    }
    assert.equal(
      byName.zeroshot_arc_easy_acc_norm!.value,
      mean(zs.items.arc_easy.map((i: { accNorm: number }) => i.accNorm)),
    );
    assert.equal(
      byName.zeroshot_average!.value,
      mean([byName.zeroshot_arc_easy_acc!.value, byName.zeroshot_winogrande_acc!.value]),
    );
    const report = JSON.parse(files["report.json"]!) as EvaluationReport;
    assert.equal(report.model.versionId, baseId);
    assert.equal(report.model.blocks, 8);
    assert.match(files["report.md"]!, /\| Model \| #Param \| WinoGrande \| ARC-e \| Ave\.↑ \|/);
    assert.match(files["report.md"]!, /lm-evaluation-harness@3326c54/);
  });

  it("zero-shot on BoolQ says in its protocol that the passages are missing", async () => {
    const done = await run({ kind: "evaluate", model: "tiny", task: "zeroshot", tasks: ["boolq"], limit: 2 });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const m = await db.prisma.metric.findFirstOrThrow({
      where: { jobId: done.id, name: "zeroshot_boolq_acc" },
    });
    assert.match(String((m.protocol as { notes?: string[] }).notes), /no passage/);
    assert.match((await artifacts(done.id))["report.md"]!, /Note: boolq: 2 of 2 items have no passage/);
  });

  it("generate: samples.json and the report hold prompts, outputs and settings; a seed reproduces", async () => {
    const spec = {
      kind: "evaluate",
      model: "tiny",
      task: "generate",
      prompts: ["Once upon a time", "The little dog"],
      maxNewTokens: 8,
      topK: 20,
      seed: 7,
      numSamples: 2,
    } satisfies JobSpecInput;
    const done = await run(spec);
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const files = await artifacts(done.id);
    assert.deepEqual(Object.keys(files).sort(), ["report.json", "report.md", "samples.json"]);
    const s = JSON.parse(files["samples.json"]!);
    assert.equal(s.settings.doSample, true);
    assert.equal(s.settings.topK, 20);
    assert.equal(s.settings.seed, 7);
    assert.deepEqual(
      s.samples.map((x: { prompt: string }) => x.prompt),
      spec.prompts,
    );
    for (const p of s.samples) {
      assert.equal(p.outputs.length, 2);
      for (const o of p.outputs) {
        assert.ok(o.tokens.length >= 1 && o.tokens.length <= 8);
        assert.ok(o.finish === "length" ? o.tokens.length === 8 : o.tokens.at(-1) === 2);
        assert.equal(typeof o.text, "string");
      }
    }
    assert.match(files["report.md"]!, /## Generation examples/);
    assert.match(files["report.md"]!, /\*\*Once upon a time\*\*/);
    assert.match(files["report.md"]!, /top-k 20/);
    // Each prompt runs on its own with the seed: the same prompt alone gives the same outputs.
    const again = await run({ ...spec, prompts: ["The little dog"] });
    const s2 = JSON.parse((await artifacts(again.id))["samples.json"]!);
    assert.deepEqual(s2.samples[0].outputs, s.samples[1].outputs);
  });

  it("a pipeline's evaluate steps may score zero-shot tasks and generate; it publishes one report", async () => {
    const done = await run({
      kind: "pipeline",
      model: "tiny",
      prune: { blocks: [3] },
      evaluate: [
        { dataset: "wikitext2", maxTokens: 256 },
        { task: "zeroshot", tasks: ["arc_easy"], limit: 2 },
        { task: "generate", prompts: ["Once upon a time"], maxNewTokens: 4 },
      ],
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const steps = await db.prisma.job.findMany({ where: { parentJobId: done.id } });
    assert.deepEqual(
      steps
        .map((s) => `${s.kind}${s.kind === "evaluate" ? `:${(s.spec as { task: string }).task}` : ""}`)
        .sort(),
      ["evaluate:generate", "evaluate:ppl", "evaluate:zeroshot", "prune"],
    );
    assert.ok(steps.every((s) => s.state === "succeeded"));
    const files = await artifacts(done.id);
    const report = JSON.parse(files["report.json"]!) as EvaluationReport;
    assert.deepEqual(
      report.sections.map((s) => s.kind),
      ["ppl", "zeroshot", "generate"],
    );
    assert.equal(report.model.blocks, 7);
    assert.equal(report.model.number, 2);
    const md = files["report.md"]!;
    assert.match(md, /# Evaluation report: tiny@2 \(pruned\)/);
    assert.match(md, /\| Model \| #Param \| PPL WikiText2↓ \| ARC-e \| Ave\.↑ \|/);
    assert.match(md, /## Zero-shot tasks/);
    assert.match(md, /## Generation examples/);
  });

  it("the default task list runs out of the box: the tasks with data, the missing ones named", async () => {
    // HellaSwag is not shipped (data/zeroshot/PROVENANCE.md): the default runs the other six.
    const done = await run({ kind: "evaluate", model: "tiny", task: "zeroshot", limit: 2 });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const result = done.result as { tasks: Record<string, unknown>; missingTasks: string[]; notes: string[] };
    assert.deepEqual(
      Object.keys(result.tasks).sort(),
      zeroShotTaskNames.filter((t) => t !== "hellaswag").sort(),
    );
    assert.deepEqual(result.missingTasks, ["hellaswag"]);
    assert.ok(result.notes.some((n) => /^hellaswag \(expected hellaswag_val\.jsonl\): not run/.test(n)));
    const files = await artifacts(done.id);
    assert.match(files["report.md"]!, /Not run \(no data on the worker\): HellaSwag\./);
    assert.deepEqual(JSON.parse(files["zeroshot.json"]!).missingTasks, ["hellaswag"]);
  });

  it("refuses at submission a task list naming absent data (a job or a pipeline step); no job is created", async () => {
    const before = await db.prisma.job.count();
    await assert.rejects(
      run({ kind: "evaluate", model: "tiny", task: "zeroshot", tasks: ["arc_easy", "hellaswag"] }),
      (e: Error & { code?: string; status?: number }) =>
        e.status === 422 &&
        /no data for zero-shot task hellaswag \(expected hellaswag_val\.jsonl\)/.test(e.message),
    );
    await assert.rejects(
      run({
        kind: "pipeline",
        model: "tiny",
        prune: { blocks: [1] },
        evaluate: [{ task: "zeroshot", tasks: ["hellaswag"] }],
      }),
      /evaluate step: no data for zero-shot task hellaswag/,
    );
    assert.equal(await db.prisma.job.count(), before);
  });

  it("refuses an unknown task at submission, naming it; no job is created", async () => {
    const before = await db.prisma.job.count();
    await assert.rejects(
      run({
        kind: "evaluate",
        model: "tiny",
        task: "zeroshot",
        tasks: ["arc_easy", "squad"],
      } as unknown as JobSpecInput),
      (e: Error & { code?: string }) =>
        e.code === "bad_request" && /tasks\.1: unknown zero-shot task "squad"/.test(e.message),
    );
    await assert.rejects(
      run({ kind: "evaluate", model: "tiny", task: "bleu" } as unknown as JobSpecInput),
      /task: task must be one of "ppl", "zeroshot", "generate"/,
    );
    await assert.rejects(
      run({
        kind: "pipeline",
        model: "tiny",
        prune: { blocks: [1] },
        evaluate: [{ task: "generate", prompts: ["  "] }],
      }),
      /evaluate\.0\.prompts\.0: a prompt is empty/,
    );
    assert.equal(await db.prisma.job.count(), before);
  });

  it("fails the job at once, with its reason, on bad task data or a prompt too long", async () => {
    const data = join(dir, "bad-data");
    mkdirSync(join(data, "zeroshot"), { recursive: true });
    writeFileSync(join(data, "zeroshot", "arc_easy_test.jsonl"), '{"question": "Q?", "choices": ["a"\n');
    const saved = process.env.SHORTENED_DATA_DIR;
    process.env.SHORTENED_DATA_DIR = data;
    try {
      const malformed = await run({ kind: "evaluate", model: "tiny", task: "zeroshot", tasks: ["arc_easy"] });
      assert.equal(malformed.state, "failed");
      assert.equal(malformed.errorCode, "invalid_data");
      assert.match(malformed.reason ?? "", /arc_easy_test\.jsonl.*line 1/);
      for (const j of [malformed]) {
        assert.equal(j.attempts, 1);
        assert.equal(await db.prisma.metric.count({ where: { jobId: j.id } }), 0);
        assert.equal(await db.prisma.artifact.count({ where: { jobId: j.id } }), 0);
      }
    } finally {
      if (saved === undefined) delete process.env.SHORTENED_DATA_DIR;
      else process.env.SHORTENED_DATA_DIR = saved;
    }
    const long = await run({
      kind: "evaluate",
      model: "tiny",
      task: "generate",
      prompts: ["Once upon a time"],
      maxNewTokens: 600,
    });
    assert.equal(long.state, "failed");
    assert.equal(long.errorCode, "bad_request");
    assert.match(
      long.reason ?? "",
      /prompt 1 \(\d+ tokens\) \+ maxNewTokens \(600\) exceed the model's 512 positions/,
    );
  });
});
