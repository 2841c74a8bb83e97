// GPTQ checkpoints of the float64 oracle (packages/hf/src/fixtures/gptq, scripts/fixtures/gptq.sh) run by the
// engine: MatMulNBits (act-order through a Gather of the input channels) equals the dequantized float path, the
// perplexity of the oracle's own checkpoint equals the oracle's, and 3-bit linears fall back to the float weight.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { pruneCheckpoint } from "@shortened/hf";
import { generatorOptions } from "../bench/benchmark.js";
import { perplexity } from "../eval/perplexity.js";
import { zeroShot } from "../eval/zeroshot/zero-shot.js";
import { KvGenerator } from "../generate/generator.js";
import { ForwardSession } from "../models/forward-session.js";
import { assertAllRel, assertRel } from "../test-support/engine-fixtures.js";

const HF = fileURLToPath(new URL("../../../hf/src/fixtures/gptq/", import.meta.url));
const FIX = fileURLToPath(new URL("../fixtures/gptq/", import.meta.url));
const json = (name: string) => JSON.parse(readFileSync(`${FIX}${name}`, "utf8"));
const stream: number[] = json("stream.json").ids;

const B = 2;
const T = 32;
const ids = stream.slice(0, B * T);

async function logits(model: string, opts: Parameters<typeof ForwardSession.open>[1] = {}) {
  const s = await ForwardSession.open(model, { logits: true, nll: false, threads: 1, ...opts });
  const r = await s.run({ batch: B, seqLen: T, ids }, { logits: true });
  const ops = new Set(s.graph.graph.nodes.map((n) => n.opType));
  return { logits: r.logits!, ops };
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

describe("GPTQ checkpoints run with MatMulNBits", () => {
  for (const [dir, nbits] of [
    ["g32-act", true],
    ["b8-g64-act", true],
    ["b2-g64-static", true],
    ["b3-row", false],
  ] as const) {
    test(`${dir}: logits equal the dequantized float path (1e-4 relative)`, async () => {
      const q = await logits(`${HF}${dir}`);
      const f = await logits(`${HF}${dir}`, { quantizedLinears: "dequantized" });
      assert.equal(q.ops.has("MatMulNBits"), nbits, "MatMulNBits in the graph");
      assert.equal(f.ops.has("MatMulNBits"), false);
      if (dir.endsWith("-act")) assert.ok(q.ops.has("Gather"), "act-order: inputs reordered");
      const rel = relDiff(q.logits, f.logits);
      assert.ok(rel <= 1e-4, `relative L2 difference ${rel}`);
      if (dir === "g32-act" || dir === "b3-row") {
        // and the oracle's own dequantized checkpoint, run as a float model
        const ref = await logits(`${HF}${dir}-dequant`);
        assert.ok(relDiff(f.logits, ref.logits) <= 1e-6);
      }
    });
  }

  test("accuracy_level 4 (int8 activations) is close, not exact", async () => {
    const q = await logits(`${HF}g32-act`, { accuracyLevel: 4 });
    const f = await logits(`${HF}g32-act`, { quantizedLinears: "dequantized" });
    const rel = relDiff(q.logits, f.logits);
    assert.ok(rel < 5e-2, `relative L2 difference ${rel}`);
  });

  test("perplexity of the oracle's GPTQ checkpoint equals the oracle's (1e-4)", async () => {
    const ref = json("g32-act-ppl.json");
    const r = await perplexity({
      model: `${HF}g32-act`,
      ids: stream,
      seqLen: 32,
      bos: "first",
      bosId: 1,
      threads: 1,
    });
    assertRel(r.ppl, ref.ppl, 1e-4, "ppl");
    assert.equal(r.tokens, ref.tokens);
    assertAllRel(r.segmentMeanNll, ref.segment_mean_nll, 1e-4, "segments");
    // the oracle's ppl.checkpoint of the same run (fp16 scales: checkpoint = in-memory weights)
    assertRel(r.ppl, json("g32-act-fp16.json").ppl.checkpoint.ppl, 1e-4, "gptq ppl.checkpoint");
  });

  test("generation reads a GPTQ checkpoint (greedy, as the dequantized model)", async () => {
    const run = async (quantizedLinears: "nbits" | "dequantized") => {
      const gen = await KvGenerator.open(`${HF}g32-act`, { threads: 1, maxSeqLen: 64, quantizedLinears });
      try {
        const r = await gen.generate([stream.slice(0, 8)], {
          maxNewTokens: 12,
          doSample: false,
          ignoreEos: true,
        });
        return r.tokens[0];
      } finally {
        await gen.release();
      }
    };
    assert.deepEqual(await run("nbits"), await run("dequantized"));
  });

  test("zero-shot and the benchmark take accuracy_level: 0 equals the dequantized model, 4 moves the scores", async () => {
    const root = fileURLToPath(new URL("../../../../", import.meta.url));
    const tokenizer = { encode: (t: string) => [...Buffer.from(t, "utf8")].map((b) => b % 128) };
    const score = async (
      o: { accuracyLevel?: 0 | 4; quantizedLinears?: "dequantized" },
      strategy: "rows" | "shared-context",
    ) => {
      const r = await zeroShot({
        model: `${HF}g32-act`,
        tasks: ["arc_easy"],
        dataDir: `${root}data/zeroshot`,
        limit: 2,
        tokenizer,
        threads: 1,
        strategy,
        ...o,
      });
      return r.items["arc_easy"]!.flatMap((it) => it.lls);
    };
    for (const strategy of ["rows", "shared-context"] as const) {
      const exact = await score({ accuracyLevel: 0 }, strategy);
      assertAllRel(
        exact,
        await score({ quantizedLinears: "dequantized" }, strategy),
        1e-5,
        `${strategy} level 0`,
      );
      const int8 = await score({ accuracyLevel: 4 }, strategy);
      assert.ok(
        int8.some((v, i) => v !== exact[i]),
        `${strategy}: level 4 changes the loglikelihoods`,
      );
      assertAllRel(int8, exact, 5e-2, `${strategy} level 4 close`);
    }
    assert.equal(
      generatorOptions({ batchSizes: [1], inputLen: 4, outputLen: 4, accuracyLevel: 4 }).accuracyLevel,
      4,
    );
  });

  test("a pruned GPTQ checkpoint runs as the quantized model with that block skipped", async () => {
    const work = mkdtempSync(join(tmpdir(), "gptq-prune-"));
    try {
      await pruneCheckpoint({ model: `${HF}g32-act`, remove: [0], out: join(work, "p") });
      const common = { ids: stream, seqLen: 32, bos: "first" as const, bosId: 1, threads: 1 };
      const pruned = await perplexity({ ...common, model: join(work, "p") });
      const skipped = await perplexity({ ...common, model: `${HF}g32-act`, skip: [0] });
      assertRel(pruned.ppl, skipped.ppl, 1e-5, "pruned vs skipped ppl");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
