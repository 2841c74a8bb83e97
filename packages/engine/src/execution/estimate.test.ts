// The memory estimate's parts: weights by compute dtype, and for a half dtype the float32 widenings of ONNX
// Runtime's CPU float16 MatMul (the head or one head chunk, plus a block's matrices), so the estimate is not below
// what was measured.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TINYLLAMA } from "../test-support/big-configs.js";
import {
  estimateStreamed,
  estimateWhole,
  halfWideningBytes,
  headChunkRows,
  heapKeepsFreedBuffers,
  weightBytes,
} from "./estimate.js";

const G = 2 ** 30;
const tiny = TINYLLAMA;
// q, o: 2048²; k, v: 256 × 2048; gate, up, down: 5632 × 2048
const blockMatrices = 2 * 2048 * 2048 + 2 * 256 * 2048 + 3 * 5632 * 2048;
const pplWorkload = { batch: 2, seqLen: 16, head: "nll", keptStates: 23 } as const;

/** Runs `f` with glibc's default malloc thresholds (the heap keeps freed buffers) or fixed ones. */
function withThresholds<T>(fixed: boolean, f: () => T): T {
  const saved = process.env.MALLOC_MMAP_THRESHOLD_;
  if (fixed) process.env.MALLOC_MMAP_THRESHOLD_ = "131072";
  else delete process.env.MALLOC_MMAP_THRESHOLD_;
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.MALLOC_MMAP_THRESHOLD_;
    else process.env.MALLOC_MMAP_THRESHOLD_ = saved;
  }
}

test("float32 widens nothing; a half dtype widens the head, plus a block's matrices the heap keeps", () => {
  assert.equal(halfWideningBytes(tiny, "float32", 32000, true), 0);
  assert.equal(halfWideningBytes(tiny, "float16", 32000, true), 4 * (32000 * 2048 + blockMatrices));
  assert.equal(halfWideningBytes(tiny, "float16", 32000, false), 4 * 32000 * 2048);
  // a head chunk narrower than the MLP's matrices: the widest one call widens is then an MLP matrix
  assert.equal(halfWideningBytes(tiny, "float16", 1000, true), 4 * (5632 * 2048 + blockMatrices));
  assert.equal(heapKeepsFreedBuffers({}), true);
  assert.equal(heapKeepsFreedBuffers({ MALLOC_MMAP_THRESHOLD_: "131072" }), false);
  assert.equal(
    withThresholds(false, () => halfWideningBytes(tiny, "float16")),
    4 * (32000 * 2048 + blockMatrices),
  );
  assert.equal(
    withThresholds(true, () => halfWideningBytes(tiny, "float16")),
    4 * 32000 * 2048,
  );
});

test("the whole-model estimate is the sum of its parts, the widening included for float16", () => {
  for (const dtype of ["float32", "float16"] as const) {
    const e = withThresholds(false, () => estimateWhole(tiny, { ...pplWorkload, dtype }));
    assert.equal(e.total, e.weights + e.widening + e.activations + e.kvCache + e.keptStates + e.runtime);
    assert.equal(e.weights, Math.ceil(weightBytes(tiny, dtype).total * 1.15));
    assert.equal(e.widening, halfWideningBytes(tiny, dtype, 32000, true));
  }
  // a forward without a head widens no head
  assert.equal(
    withThresholds(true, () => estimateWhole(tiny, { ...pplWorkload, head: "none", dtype: "float16" }))
      .widening,
    halfWideningBytes(tiny, "float16", 0, false),
  );
});

test("importance ppl in float16 on the 1.1B model: the estimate is not below the measured 3.05 GB peak", () => {
  // measured 2026-12-04 with glibc's default thresholds (README "Peak memory under a budget"): 3.05 GiB peak RSS,
  // whole model, 2 × 16 calibration; the estimate without the widening was 2.69 GB
  const e = withThresholds(false, () => estimateWhole(tiny, { ...pplWorkload, dtype: "float16" }));
  assert.ok(e.total >= 3.05 * G, `${(e.total / G).toFixed(2)} GB`);
  assert.ok(e.total - e.widening < 3.05 * G);
});

test("streamed float16 counts one head chunk's widening, not the whole head's", () => {
  const w = { batch: 2, seqLen: 16, head: "nll", keptRows: 2, dtype: "float16" } as const;
  const e = withThresholds(true, () => estimateStreamed(tiny, w));
  assert.equal(e.widening, halfWideningBytes(tiny, "float16", headChunkRows(tiny), false));
  assert.ok(e.widening < halfWideningBytes(tiny, "float16", 32000, false));
  assert.equal(estimateStreamed(tiny, { ...w, dtype: "float32" }).widening, 0);
});
