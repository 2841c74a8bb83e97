// Several prompts per block-streamed generation step: groups of prompts of different lengths step together, each
// block and each head chunk read once per step for all of them, and every group decodes exactly what the whole model
// decodes for it alone (greedy and seeded sampling; a group that meets its EOS early stops while the others go on).
import assert from "node:assert/strict";
import { test } from "node:test";
import { StreamedModel } from "../execution/streamed-model.js";
import { openCheckpoint } from "../models/weights.js";
import { DEMO_MODEL, fixture, modelDir } from "../test-support/engine-fixtures.js";
import { type GenerateOptions, KvGenerator } from "./generator.js";

// Options both generate and generateEach take (their onToken callbacks differ).
type Opts = Omit<GenerateOptions, "onToken">;

const ids: number[] = fixture("stream.json").ids;

/** Three groups: one prompt of 9 tokens, two different prompts of 5, one of 12. */
function groupsFor(V: number): number[][][] {
  const p = (from: number, n: number) => ids.slice(from, from + n).map((t) => t % V);
  return [[p(0, 9)], [p(9, 5), p(14, 5)], [p(19, 12)]];
}

for (const m of ["llama-gqa", "mistral-window", "demo"]) {
  test(`${m}: groups generated together in one streamed pass per step equal the whole model's per group`, async () => {
    const ckpt = openCheckpoint(m === "demo" ? DEMO_MODEL : modelDir(m));
    const groups = groupsFor(ckpt.config.vocabSize);
    const whole = await KvGenerator.open(ckpt, { threads: 1, maxSeqLen: 40, execution: "whole" });
    const streamed = await KvGenerator.open(ckpt, {
      threads: 1,
      maxSeqLen: 40,
      execution: "streamed",
      batch: 4,
    });
    try {
      assert.equal(streamed.plan.mode, "streamed");
      const greedy: Opts = { doSample: false, maxNewTokens: 10, ignoreEos: true };
      const sampled: Opts = {
        doSample: true,
        temperature: 0.9,
        topK: 20,
        seed: 7,
        maxNewTokens: 10,
      };
      for (const opts of [greedy, sampled]) {
        const alone = [];
        for (const g of groups) alone.push(await whole.generate(g, opts));
        const seen: [number, number][] = [];
        const together = await streamed.generateEach(groups, {
          ...opts,
          onToken: (group, step) => seen.push([group, step]),
        });
        assert.deepEqual(
          together.map((r) => r.tokens),
          alone.map((r) => r.tokens),
          `${m} ${opts.doSample ? "sampled" : "greedy"}`,
        );
        // One onToken per step a group took: up to its last row's EOS or the length.
        const stepsTaken = alone.map((r) => Math.max(...r.tokens.map((t) => t.length)));
        for (const [k, n] of stepsTaken.entries())
          assert.deepEqual(
            seen.filter(([g]) => g === k).map(([, s]) => s),
            Array.from({ length: n }, (_, s) => s),
          );
        // The whole model's generateEach is the same per group too.
        const wholeEach = await whole.generateEach(groups, opts);
        assert.deepEqual(
          wholeEach.map((r) => r.tokens),
          alone.map((r) => r.tokens),
        );
      }
      // A group that meets its EOS stops (its third token is made its EOS); the others run to the length.
      const first = (await whole.generate(groups[0]!, greedy)).tokens[0]!;
      const eosOpts: Opts = { ...greedy, ignoreEos: false, eosIds: [first[2]!] };
      const alone = [];
      for (const g of groups) alone.push(await whole.generate(g, eosOpts));
      const together = await streamed.generateEach(groups, eosOpts);
      assert.deepEqual(
        together.map((r) => [r.tokens, r.finish]),
        alone.map((r) => [r.tokens, r.finish]),
      );
      assert.equal(together[0]!.finish[0], "eos");
      assert.equal(together[0]!.tokens[0]!.length, first.indexOf(first[2]!) + 1);
    } finally {
      await whole.release();
      await streamed.release();
    }
  });
}

test("each block and each head chunk is read once per step for all the groups", async () => {
  const ckpt = openCheckpoint(modelDir("llama-gqa"));
  const groups = groupsFor(ckpt.config.vocabSize);
  const gen = await KvGenerator.open(ckpt, { threads: 1, maxSeqLen: 40, execution: "streamed", batch: 4 });
  const proto = StreamedModel.prototype;
  const { loadBlock, loadHeadChunk } = proto;
  let blocks = 0;
  let chunks = 0;
  let headRows = 0;
  proto.loadBlock = function (this: StreamedModel, i: number) {
    blocks++;
    headRows = this.headRows;
    return loadBlock.call(this, i);
  };
  proto.loadHeadChunk = function (this: StreamedModel, v0: number, rows: number) {
    chunks++;
    return loadHeadChunk.call(this, v0, rows);
  };
  try {
    const steps = 6;
    const count = async (gs: number[][][]) => {
      blocks = chunks = 0;
      await gen.generateEach(gs, { doSample: false, maxNewTokens: steps, ignoreEos: true });
      return { blocks, chunks };
    };
    const one = await count([groups[0]!]);
    const all = await count(groups);
    const L = ckpt.config.numHiddenLayers;
    const perStep = Math.ceil(ckpt.config.vocabSize / headRows);
    // prefill + (steps - 1) decode steps
    assert.deepEqual(one, { blocks: steps * L, chunks: steps * perStep });
    assert.deepEqual(all, one, "three groups cost the weight reads of one");
  } finally {
    proto.loadBlock = loadBlock;
    proto.loadHeadChunk = loadHeadChunk;
    await gen.release();
  }
});
