// The forward graph's shapes beyond the whole model: block ranges (a model run block by block, with one block
// graph fed each block's weights), and the KV cache as an input of the same graph.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort } from "../graph/session.js";
import { modelDir } from "../test-support/engine-fixtures.js";
import { buildForwardGraph } from "./forward-graph.js";
import { ForwardSession } from "./forward-session.js";
import { shiftedTargets } from "./targets.js";
import { checkpointWeights, openCheckpoint } from "./weights.js";

// Every family and its variants: GQA, biases + tied head, Qwen2, Gemma, a sliding window shorter than the rows.
const MODELS = ["llama-gqa", "llama-tied-bias", "qwen2-tied", "gemma", "mistral-window"];
const B = 2;
const T = 11;

/** max |a − b| / max(|b|, 1): relative for large values, absolute near 0 */
function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1));
  return worst;
}

function idsFor(vocab: number): number[] {
  return Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % vocab);
}

test("embedding → one block graph fed each block's weights in turn → head equals the whole graph", async () => {
  for (const name of MODELS) {
    const model = openCheckpoint(modelDir(name));
    const L = model.config.numHiddenLayers;
    const ids = idsFor(model.config.vocabSize);
    const targets = shiftedTargets(ids, B, T);
    const whole = await ForwardSession.open(model, { logits: true, hidden: true, threads: 1 });
    const embed = await ForwardSession.open(model, {
      blocks: { from: 0, to: 0 },
      hiddenOut: true,
      threads: 1,
    });
    const block = await ForwardSession.open(model, {
      blocks: { from: 0, to: 1 },
      input: "hidden",
      blockWeights: "inputs",
      hiddenOut: true,
      threads: 1,
    });
    const head = await ForwardSession.open(model, {
      blocks: { from: L, to: L },
      input: "hidden",
      logits: true,
      threads: 1,
    });
    try {
      assert.equal(block.graph.inputs.blockWeights?.length, block.graph.arch.blockTensors.length);
      const want = await whole.run({ batch: B, seqLen: T, ids, targets });
      let h = (await embed.run({ batch: B, seqLen: T, ids })).hiddenOut!;
      assert.deepEqual(h, want.hidden![0], `${name}: embedding`);
      for (let j = 0; j < L; j++) {
        h = (await block.run({ batch: B, seqLen: T, hiddenIn: h, weightsOfBlock: j })).hiddenOut!;
        const d = maxDiff(h, want.hidden![j + 1]!);
        assert.ok(d <= 1e-6, `${name}: block ${j} output differs by ${d}`);
      }
      const got = await head.run({ batch: B, seqLen: T, hiddenIn: h, targets });
      assert.ok(maxDiff(got.nll!, want.nll!) <= 1e-6, `${name}: nll`);
      assert.ok(maxDiff(got.logits!, want.logits!) <= 1e-6, `${name}: logits`);
    } finally {
      for (const s of [whole, embed, block, head]) await s.release();
    }
  }
});

test("two block ranges with their weights as initializers equal the whole graph, gates included", async () => {
  const model = openCheckpoint(modelDir("llama8"));
  const L = model.config.numHiddenLayers;
  const ids = idsFor(model.config.vocabSize);
  const targets = shiftedTargets(ids, B, T);
  const gates = new Float32Array(L).fill(1);
  gates[1] = 0;
  gates[5] = 0;
  const whole = await ForwardSession.open(model, { threads: 1 });
  const first = await ForwardSession.open(model, { blocks: { from: 0, to: 3 }, hiddenOut: true, threads: 1 });
  const rest = await ForwardSession.open(model, { blocks: { from: 3, to: L }, input: "hidden", threads: 1 });
  try {
    const want = await whole.run({ batch: B, seqLen: T, ids, targets, gates });
    const h = (await first.run({ batch: B, seqLen: T, ids, gates: gates.slice(0, 3) })).hiddenOut!;
    const got = await rest.run({ batch: B, seqLen: T, hiddenIn: h, targets, gates: gates.slice(3) });
    assert.deepEqual(got.nll, want.nll);
  } finally {
    for (const s of [whole, first, rest]) await s.release();
  }
});

/** The forward graph with a KV cache and no gates, as generation builds it, in a session of its own. */
async function cachedSession(name: string, opts: { padded?: boolean } = {}) {
  const model = openCheckpoint(modelDir(name));
  const g = new GraphBuilder();
  const fg = buildForwardGraph(model.config, {
    graph: g,
    weight: checkpointWeights(g, model),
    kvCache: { padded: opts.padded ?? false },
    gates: false,
    logits: true,
    nll: false,
  });
  const session = await createSession(g, { threads: 1 });
  const c = model.config;
  const int64 = (v: ArrayLike<number>, dims: number[]) =>
    new ort.Tensor(
      "int64",
      BigInt64Array.from(Array.from(v), (x) => BigInt(x)),
      dims,
    );
  return {
    config: c,
    release: () => session.release(),
    /** logits [B, Tn, V] and the present cache after `ids` [B, Tn] following `past` (null: empty) */
    async run(ids: number[], Tn: number, past: ort.Tensor[] | null) {
      const P = past ? past[0]!.dims[2]! : 0;
      const feeds: Record<string, ort.Tensor> = { [fg.inputs.ids!]: int64(ids, [B, Tn]) };
      for (let k = 0; k < c.numHiddenLayers; k++) {
        const empty = new ort.Tensor("float32", new Float32Array(0), [B, c.numKeyValueHeads, 0, c.headDim]);
        feeds[fg.inputs.pastKeys![k]!] = past ? past[2 * k]! : empty;
        feeds[fg.inputs.pastValues![k]!] = past ? past[2 * k + 1]! : empty;
      }
      if (fg.inputs.positionIds) {
        const pos = Array.from({ length: B * Tn }, (_, i) => P + (i % Tn));
        feeds[fg.inputs.positionIds] = int64(pos, [B, Tn]);
        feeds[fg.inputs.keyValid!] = new ort.Tensor("bool", new Uint8Array(B * (P + Tn)).fill(1), [
          B,
          P + Tn,
        ]);
      }
      const out = await session.run(feeds);
      const present = fg.outputs.presentKeys!.flatMap((k, i) => [
        out[k]!,
        out[fg.outputs.presentValues![i]!]!,
      ]);
      return { logits: out[fg.outputs.logits!]!.data as Float32Array, present };
    },
  };
}

test("with an empty cache the forward graph computes what it computes without one", async () => {
  for (const name of MODELS) {
    const cached = await cachedSession(name);
    const plain = await ForwardSession.open(modelDir(name), { logits: true, nll: false, threads: 1 });
    try {
      const ids = idsFor(cached.config.vocabSize);
      const { logits } = await cached.run(ids, T, null);
      const want = await plain.run({ batch: B, seqLen: T, ids }, { logits: true });
      // the same numbers up to float32 rounding: with gates, a block adds h + (a + m), without, (h + a) + m
      const d = maxDiff(logits, want.logits!);
      assert.ok(d <= 1e-5, `${name}: ${d}`);
    } finally {
      await cached.release();
      await plain.release();
    }
  }
});

test("a prefix through the cache, then the rest after it, equals the whole sequence at once (positions offset)", async () => {
  for (const name of MODELS) {
    for (const padded of [false, true]) {
      const s = await cachedSession(name, { padded });
      try {
        const V = s.config.vocabSize;
        const ids = idsFor(V);
        const split = 7; // past the 4-token window of mistral-window, so the window bites across the cache
        const rows = (from: number, to: number) =>
          Array.from({ length: B }, (_, b) => ids.slice(b * T + from, b * T + to)).flat();
        const whole = await s.run(ids, T, null);
        const prefix = await s.run(rows(0, split), split, null);
        const rest = await s.run(rows(split, T), T - split, prefix.present);
        const wantRest = new Float32Array(B * (T - split) * V);
        for (let b = 0; b < B; b++)
          wantRest.set(whole.logits.subarray((b * T + split) * V, (b + 1) * T * V), b * (T - split) * V);
        const d = maxDiff(rest.logits, wantRest);
        assert.ok(d <= 1e-4, `${name} padded=${padded}: logits after the cache differ by ${d}`);
        assert.deepEqual(rest.present[0]!.dims, [B, s.config.numKeyValueHeads, T, s.config.headDim]);
      } finally {
        await s.release();
      }
    }
  }
});
