// GPTQ checkpoints of the float64 oracle (packages/hf/src/fixtures/gptq, scripts/fixtures/gptq.sh) run by the
// engine: MatMulNBits (act-order through a Gather of the input channels) equals the dequantized float path, the
// perplexity of the oracle's own checkpoint equals the oracle's, and 3-bit linears fall back to the float weight.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { perplexity } from "../eval/perplexity.js";
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
});
