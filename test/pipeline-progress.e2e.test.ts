// Structured progress: every training step reaches the job's events with its numbers (none dropped by
// the throttle), evaluator progress carries step/totalSteps, a pipeline's progress follows its running
// step, and the pipeline's SSE stream carries its steps' events.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startAttempt } from "@shortened/adapters";
import { DbProgressSink } from "@shortened/jobs";
import { readSse } from "./helpers/sse.js";
import { startTeamsRig, type TeamsRig } from "./helpers/teams-app.js";

describe("structured progress and pipeline streams", { timeout: 60_000 }, () => {
  let rig: TeamsRig;
  before(async () => {
    rig = await startTeamsRig();
  });
  after(async () => rig?.close());

  it("keeps every training step, follows the running step in the pipeline's progress, and streams steps' events", async () => {
    const key = rig.a.admin;
    const submitted = await rig.call("POST", "/v1/jobs", {
      key,
      body: {
        kind: "pipeline",
        model: "tiny",
        prune: { blocks: [3] },
        retrain: { method: "lora", steps: 40 },
        evaluate: [{ dataset: "wikitext2" }],
      },
    });
    assert.equal(submitted.status, 201, submitted.text);
    const pipelineId = submitted.body.id;
    const steps = (await rig.call("GET", `/v1/jobs?parentJobId=${pipelineId}`, { key })).body.items.sort(
      (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id),
    );
    assert.deepEqual(
      steps.map((s: { kind: string }) => s.kind),
      ["prune", "retrain", "evaluate"],
    );
    const [prune, retrain] = steps;
    await startAttempt(rig.db.prisma, prune.id);
    await rig.db.prisma.job.update({ where: { id: prune.id }, data: { state: "succeeded", progress: 1 } });
    await startAttempt(rig.db.prisma, retrain.id);

    // 40 steps as fast as a trainer on a tiny model: the sink writes at most every 500 ms but keeps them all.
    const sink = new DbProgressSink(rig.db.prisma, retrain.id, 500, undefined, pipelineId);
    for (let step = 1; step <= 40; step++)
      sink.progress((0.5 * step) / 40, `lora step ${step}/40`, {
        phase: "lora",
        step,
        totalSteps: 40,
        loss: 5 - step / 20,
        lr: 1e-3,
        gradNorm: 1.5,
        tokensPerS: 900,
        etaS: 40 - step,
      });
    // An evaluator's progress without a loss is throttled as before.
    for (let i = 1; i <= 10; i++) sink.progress(0.5 + i / 40, "ppl wikitext2", { step: i, totalSteps: 10 });
    await sink.flush();

    const events = (await rig.call("GET", `/v1/jobs/${retrain.id}/events?limit=1000`, { key })).body.items;
    const train = events.filter((e: { data: { loss?: number } }) => e.data.loss !== undefined);
    assert.deepEqual(
      train.map((e: { data: { step: number } }) => e.data.step),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.deepEqual(Object.keys(train[0].data).sort(), [
      "etaS",
      "fraction",
      "gradNorm",
      "loss",
      "lr",
      "message",
      "phase",
      "step",
      "tokensPerS",
      "totalSteps",
    ]);
    const evalSteps = events.filter(
      (e: { type: string; data: { phase?: string; loss?: number } }) =>
        e.data.loss === undefined && e.type === "progress",
    );
    assert.ok(evalSteps.length >= 1 && evalSteps.length < 10, `throttled: ${evalSteps.length}`);
    assert.equal(evalSteps[evalSteps.length - 1].data.step, 10, "the last value is written at flush");
    assert.equal(train[0].jobId, retrain.id);

    // The pipeline's progress: prune done (1 share) + retrain at 0.75 of 4 shares.
    const pipeline = (await rig.call("GET", `/v1/jobs/${pipelineId}`, { key })).body;
    assert.equal(pipeline.state, "running");
    assert.equal(pipeline.progress, Math.round(((1 + 0.75) / 4) * 1e4) / 1e4);

    // One stream follows the whole pipeline: its own state events and its steps' events, in seq order.
    const stream = await readSse(
      `${rig.url}/v1/jobs/${pipelineId}/stream`,
      { authorization: `Bearer ${key}` },
      (ev) => ev.filter((e) => e.event === "progress").length >= 40,
    );
    const datas = stream.events.map((e) => JSON.parse(e.data));
    assert.ok(datas.some((d) => d.jobId === pipelineId && d.type === "state"));
    assert.ok(datas.filter((d) => d.jobId === retrain.id && d.data.loss !== undefined).length === 40);
    const seqs = datas.map((d) => Number(d.seq));
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      seqs,
    );
    // REST: ?steps=true gives the same merged order.
    const merged = (await rig.call("GET", `/v1/jobs/${pipelineId}/events?steps=true&limit=1000`, { key }))
      .body.items;
    assert.deepEqual(
      merged.slice(0, seqs.length).map((e: { seq: string }) => Number(e.seq)),
      seqs,
    );
  });
});
