// Taylor+ block-streamed in float16 (./streamed-taylor.ts): the whole float16 model's scores, and the oracle's within
// float16's backward tolerance 4u√(2D) (../test-support/half-tolerance.ts).
//
// Streamed against whole float16, every weight's score within TOL = 4u (u = 2^-11, float16's unit roundoff). The
// two take the same roundings in principle but are not bit-identical: ONNX Runtime fuses the whole gradient graph
// differently from one block's, and the head's logit gradient comes from the chunked surrogate, so float32 values
// differ in their last bits (the forward's batch losses by up to 2.3e-5 relative here, within the 1e-4 of the
// float16 perplexity test); where such a value sits at a float16 rounding boundary, its cast moves it by a whole
// float16 step, and the backward carries that on. Measured on these fixtures: at most 5.7e-4 (1.2u) per weight
// score, while each run is within 1.1e-3 of the oracle. 4u is well inside the oracle's 4u√(2D) (1.0e-2 for 3
// blocks); a float32 stream is told apart by the check below, not by TOL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { blockImportance } from "../importance/block-importance.js";
import { taylorImportance } from "../importance/taylor.js";
import { openCheckpoint } from "../models/weights.js";
import { assertAllRel } from "../test-support/engine-fixtures.js";
import {
  assertOrderWhereSeparated,
  HALF_UNIT_ROUNDOFF,
  halfTolerance,
} from "../test-support/half-tolerance.js";
import { rel, trainFixture } from "../test-support/train-fixtures.js";
import { StreamedModel } from "./streamed-model.js";
import { streamedTaylorImportance } from "./streamed-taylor.js";

const root = fileURLToPath(new URL("../../../..", import.meta.url));
/** streamed vs whole float16, per weight score (see above) */
const TOL = 4 * HALF_UNIT_ROUNDOFF;

for (const name of ["llama", "gemma2", "qwen2"]) {
  test(`streamed float16 Taylor+ of the ${name} fixture equals the whole float16 model and the oracle`, async () => {
    const f = trainFixture(name);
    const calib = f.calib as number[][];
    const rows = { flat: calib.flat(), rows: calib.length, seqLen: calib[0]!.length };
    const ckpt = openCheckpoint(`${root}/${f.model}`);
    const bs = f.taylor.batch_size;
    const whole = await taylorImportance(ckpt, rows, { batchSize: bs, threads: 1, dtype: "float16" });
    const run = async (dtype: "float16" | "float32") => {
      const model = await StreamedModel.open(ckpt, {
        threads: 1,
        maxSeqLen: rows.seqLen,
        headChunkRows: Math.ceil(ckpt.config.vocabSize / 3),
        dtype,
      });
      try {
        return await streamedTaylorImportance(model, rows, { batchSize: bs });
      } finally {
        await model.release();
      }
    };
    const streamed = await run("float16");
    const f32 = await run("float32");
    streamed.weightScores.forEach(([k, v], i) => {
      assert.ok(
        rel(v, whole.weightScores[i]![1]) <= TOL,
        `${k}: ${v} vs whole float16 ${whole.weightScores[i]![1]}`,
      );
    });
    const tol = halfTolerance(ckpt.config.numHiddenLayers, true);
    assertAllRel(streamed.blockScores, f.taylor.block_scores, tol, `${name} block scores`);
    assertOrderWhereSeparated(streamed.blockScores, f.taylor.block_scores, tol, name);
    assertAllRel(streamed.batchLosses, f.taylor.batch_losses, tol, `${name} batch losses`);
    // float16 indeed: the float32 stream's scores differ by more than float32 rounding
    const diff = Math.max(...streamed.weightScores.map(([, v], i) => rel(v, f32.weightScores[i]![1])));
    assert.ok(diff > 1e-5, `${name}: float16 scores equal the float32 ones (${diff})`);
  });
}

test("blockImportance taylor streams in float16 when asked, and says so in its plan", async () => {
  const f = trainFixture("llama");
  const r = await blockImportance({
    model: `${root}/${f.model}`,
    criterion: "taylor",
    calibIds: f.calib as number[][],
    batchSize: 2,
    threads: 1,
    dtype: "float16",
    execution: "streamed",
  });
  assert.equal(r.plan!.mode, "streamed");
  assert.match(r.plan!.summary, /^streamed \(float16 weights\)/);
  assert.equal(r.protocol.dtype, "float16");
});
