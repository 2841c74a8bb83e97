// The later architectures (qwen3, gemma2, gemma3_text, phi3, qwen2 with a sliding window) and every RoPE scaling
// type against the float64 oracle (fixtures/arch from scripts/fixtures/arch.sh): rows longer than the sliding
// windows and past the original RoPE length, calibration rows shorter than it. Forward NLL per token within 1e-4
// (all blocks and block 1 gated off), perplexity within 1e-4, the ppl, magnitude, bi and angular criteria within
// 1e-4 with equal orders (bi/angular from scripts/fixtures/similarity.sh), Taylor+ within 1e-3 with equal orders.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { perplexity } from "../eval/perplexity.js";
import { blockImportance } from "../importance/block-importance.js";
import { taylorImportance } from "../importance/taylor.js";
import { assertAllRel, assertRel } from "../test-support/engine-fixtures.js";
import { ForwardSession } from "./forward-session.js";
import { shiftedTargets } from "./targets.js";

const ARCH = fileURLToPath(new URL("../fixtures/arch/", import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: oracle JSON
const fixture = (path: string): any => JSON.parse(readFileSync(`${ARCH}${path}`, "utf8"));
const modelDir = (m: string) => `${ARCH}models/${m}`;
const MODELS = readdirSync(`${ARCH}models`).sort();
const rows: number[][] = fixture("rows.json").batch;
const calib: number[][] = fixture("calib.json").batch;
const stream: number[] = fixture("stream.json").ids;

test("the fixtures cover every later family and every RoPE scaling type", () => {
  const types = new Set(MODELS.map((m) => fixture(`models/${m}/config.json`)).map((c) => c.model_type));
  for (const t of ["qwen2", "qwen3", "gemma2", "gemma3_text", "phi3", "llama"]) assert.ok(types.has(t), t);
  const ropes = MODELS.map((m) => fixture(`models/${m}/config.json`).rope_scaling)
    .filter(Boolean)
    .map((r) => r.rope_type ?? r.type);
  for (const r of ["linear", "dynamic", "yarn", "longrope", "llama3"]) assert.ok(ropes.includes(r), r);
});

async function checkForward(m: string, batch: number[][], cases: [string, number][]) {
  const B = batch.length;
  const T = batch[0]!.length;
  const ids = batch.flat();
  const s = await ForwardSession.open(modelDir(m), { maxSeqLen: T });
  try {
    const L = s.config.numHiddenLayers;
    for (const [file, gate1] of cases) {
      const ref = fixture(`cases/${m}/${file}`);
      const gates = new Float32Array(L).fill(1);
      gates[1] = gate1;
      const out = await s.run({ batch: B, seqLen: T, ids, targets: shiftedTargets(ids, B, T), gates });
      let sum = 0;
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T - 1; t++) {
          const v = out.nll![b * T + t]!;
          sum += v;
          assert.ok(
            Math.abs(v - ref.token_nll[b][t]) < 1e-4,
            `${m} ${file} token ${b},${t}: ${v} vs ${ref.token_nll[b][t]}`,
          );
        }
      assertRel(sum / (B * (T - 1)), ref.loss, 1e-5, `${m} ${file} loss`);
    }
  } finally {
    await s.release();
  }
}

for (const m of MODELS) {
  test(`${m}: forward NLL equals the oracle (long rows, block 1 gated off, short rows)`, async () => {
    await checkForward(m, rows, [
      ["forward.json", 1],
      ["forward_skip1.json", 0],
    ]);
    await checkForward(m, calib, [["forward_short.json", 1]]);
  });

  test(`${m}: perplexity (BOS first, windows of 24) equals the oracle`, async () => {
    const ref = fixture(`cases/${m}/ppl_first.json`);
    const r = await perplexity({
      model: modelDir(m),
      ids: stream,
      seqLen: 24,
      bos: "first",
      bosId: 1,
      batchSize: 4,
      threads: 1,
    });
    assertRel(r.ppl, ref.ppl, 1e-4, `${m} ppl`);
    assert.equal(r.tokens, ref.tokens);
    assertAllRel(r.segmentMeanNll, ref.segment_mean_nll, 1e-4, `${m} segments`);
  });

  test(`${m}: ppl, magnitude, bi and angular criteria equal the oracle (scores, orders)`, async () => {
    for (const criterion of ["ppl", "magnitude", "bi", "angular"] as const) {
      const ref = fixture(`cases/${m}/importance_${criterion}.json`);
      const r = await blockImportance({
        model: modelDir(m),
        criterion,
        calibIds: calib,
        batchSize: 4,
        threads: 1,
      });
      assertAllRel(r.scores, ref.block_scores, 1e-4, `${m} ${criterion} scores`);
      assert.deepEqual(r.order, ref.block_order, `${m} ${criterion} order`);
      assert.deepEqual(r.orderPlus, ref.block_order_plus);
    }
  });

  test(`${m}: Taylor+ equals the oracle within 1e-3 (each weight, block scores, order)`, async () => {
    const ref = fixture(`cases/${m}/importance_taylor.json`);
    const r = await taylorImportance(
      modelDir(m),
      { flat: rows.flat(), rows: rows.length, seqLen: rows[0]!.length },
      { batchSize: 2, threads: 1 },
    );
    assert.deepEqual(
      r.weightScores.map(([k]) => k),
      ref.weight_scores.map(([k]: [string, number]) => k),
    );
    r.weightScores.forEach(([k, v], i) => {
      assertRel(v, ref.weight_scores[i][1], 1e-3, `${m} ${k}`);
    });
    assertAllRel(r.blockScores, ref.block_scores, 1e-3, `${m} taylor blocks`);
    assert.deepEqual(r.blockOrder, ref.block_order);
    r.batchLosses.forEach((v, i) => {
      assertRel(v, ref.batch_losses[i], 1e-5, `${m} batch ${i} loss`);
    });
  });
}
