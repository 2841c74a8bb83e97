// The SIMD kernel gives the bits of the float32 update written element by element in JavaScript (every
// operation rounded by Math.fround, as the optimizer did before the kernel), for every length around the lane
// width and the chunk size, across magnitudes from subnormal to overflow, and touches nothing outside the arrays.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AdamWKernel, type UpdateScalars } from "./adamw-simd.js";

const f32 = Math.fround;
const constants = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** The update one element at a time, each operation rounded to float32 (the graph's op order). */
function scalarUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: UpdateScalars) {
  const [b1, b2, eps] = [f32(constants.beta1), f32(constants.beta2), f32(constants.eps)];
  const [ob1, ob2] = [f32(1 - constants.beta1), f32(1 - constants.beta2)];
  for (let i = 0; i < p.length; i++) {
    const gi = f32(g[i]! * s.coef);
    const m2 = f32(f32(m[i]! * b1) + f32(gi * ob1));
    const v2 = f32(f32(v[i]! * b2) + f32(f32(gi * gi) * ob2));
    const denom = f32(f32(f32(Math.sqrt(v2)) / s.bc2Sqrt) + eps);
    p[i] = f32(f32(p[i]! * s.decay) - f32(s.stepSize * f32(m2 / denom)));
    m[i] = m2;
    v[i] = v2;
  }
}

/** Values from 1e-45 (subnormal) to 1e38, both signs, with zeros, infinities and NaN among them. */
function wide(n: number, k: number): Float32Array {
  const special = [
    0,
    -0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    1e-45,
    -3e-39,
    3e38,
  ];
  return Float32Array.from({ length: n }, (_, i) =>
    i % 53 === 7 ? special[(i + k) % special.length]! : Math.sin(i * k + k) * 10 ** (((i * k) % 84) - 45),
  );
}

const scalars = (decay: boolean, t: number): UpdateScalars => ({
  coef: f32(1 / 7),
  decay: decay ? f32(1 - 1e-3 * 0.1) : 1,
  stepSize: f32(1e-3 / (1 - constants.beta1 ** t)),
  bc2Sqrt: f32(Math.sqrt(1 - constants.beta2 ** t)),
});

/** Equal bit for bit, NaN payloads aside (WebAssembly leaves them unspecified). */
function assertSameBits(got: Float32Array, want: Float32Array, what: string) {
  const [a, b] = [
    new Uint32Array(got.buffer, got.byteOffset, got.length),
    new Uint32Array(want.buffer, want.byteOffset, want.length),
  ];
  assert.equal(got.length, want.length);
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i])))
      assert.fail(
        `${what}[${i}]: ${got[i]} (0x${a[i]!.toString(16)}), want ${want[i]} (0x${b[i]!.toString(16)})`,
      );
}

test("AdamW kernel: the bits of the element-by-element float32 update, at every length around lanes and chunks", () => {
  const kernel = new AdamWKernel(constants);
  for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 16383, 16384, 16385, 2 * 16384 + 3]) {
    const ours = [1, 2, 3, 4].map((k) => wide(n, k));
    ours[3] = ours[3]!.map(Math.abs); // v ≥ 0 as a second moment is (NaN and infinities stay)
    const ref = ours.map((x) => x.slice());
    for (const [t, decay] of [
      [1, true],
      [2, false],
      [30, true],
    ] as const) {
      const grad = wide(n, t + 4);
      kernel.update(ours[0]!, grad, ours[1]!, ours[2]!, scalars(decay, t));
      scalarUpdate(ref[0]!, grad, ref[1]!, ref[2]!, scalars(decay, t));
      for (const [j, what] of ["p", "m", "v"].entries())
        assertSameBits(ours[j]!, ref[j]!, `n=${n} t=${t} ${what}`);
    }
  }
});

test("AdamW kernel: views inside larger buffers are updated in place and nothing beside them changes", () => {
  const kernel = new AdamWKernel(constants);
  const n = 16384 + 5;
  const outer = [1, 2, 3, 4].map((k) => wide(n + 6, k).map(Math.abs));
  const before = outer.map((x) => x.slice());
  const [p, g, m, v] = outer.map((x) => x.subarray(3, 3 + n));
  const ref = [p, g, m, v].map((x) => x!.slice());
  kernel.update(p!, g!, m!, v!, scalars(true, 1));
  scalarUpdate(ref[0]!, ref[1]!, ref[2]!, ref[3]!, scalars(true, 1));
  for (const [j, x] of [p, g, m, v].entries()) assertSameBits(x!, ref[j]!, `view ${j}`);
  for (const [j, x] of outer.entries())
    for (const i of [0, 1, 2, n + 3, n + 4, n + 5])
      assert.ok(Object.is(x[i], before[j]![i]), `outside ${j}[${i}]`);
});

test("AdamW kernel: arrays of different lengths are refused before anything changes", () => {
  const kernel = new AdamWKernel(constants);
  const p = Float32Array.of(1, 2, 3);
  assert.throws(
    () => kernel.update(p, new Float32Array(2), new Float32Array(3), new Float32Array(3), scalars(true, 1)),
    /differ in length \(3, 2, 3, 3\)/,
  );
  assert.deepEqual(p, Float32Array.of(1, 2, 3));
});

/** The documented sum of squares: element i of each tensor into partial sum i mod 8, then a fixed pairing. */
function interleavedSumsq(arrays: Float32Array[]): number {
  const s = new Float64Array(8);
  for (const g of arrays) for (let i = 0; i < g.length; i++) s[i % 8] += g[i]! * g[i]!;
  return s[0]! + s[1]! + (s[2]! + s[3]!) + (s[4]! + s[5]! + (s[6]! + s[7]!));
}

/** Σ x² with Neumaier's compensation: within a float64 rounding of the exact sum for these sizes. */
function compensatedSumsq(arrays: Float32Array[]): number {
  let [sum, c] = [0, 0];
  for (const g of arrays)
    for (const x of g) {
      const sq = x * x;
      const t = sum + sq;
      c += Math.abs(sum) >= sq ? sum - t + sq : sq - t + sum;
      sum = t;
    }
  return sum + c;
}

const smooth = (n: number, k: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k) * 10 ** ((i % 13) - 6));

test("AdamW kernel sum of squares: the documented order's bits, whatever the lengths, chunks and views", () => {
  const kernel = new AdamWKernel(constants);
  const lengths = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 17, 16383, 16384, 16385, 2 * 16384 + 3];
  const tensors = lengths.map((n, k) => smooth(n, k));
  for (const n of lengths) {
    const one = [smooth(n, 1)];
    assert.ok(Object.is(kernel.sumOfSquares(one), interleavedSumsq(one)), `n=${n}`);
  }
  const all = kernel.sumOfSquares(tensors);
  assert.ok(Object.is(all, interleavedSumsq(tensors)), "all tensors");
  assert.ok(Object.is(kernel.sumOfSquares(tensors), all), "a second call gives the same bits");
  // split at a multiple of 8, the partial sums see the same elements in the same order: same bits
  const whole = smooth(3 * 16384 + 11, 5);
  const split = [whole.subarray(0, 16384 + 8), whole.subarray(16384 + 8)];
  assert.ok(Object.is(kernel.sumOfSquares(split), kernel.sumOfSquares([whole])), "split at a multiple of 8");
  // views at an odd offset inside a larger buffer; the arrays are left as they were
  const outer = smooth(16384 + 20, 6);
  const before = outer.slice();
  const view = outer.subarray(3, 16384 + 12);
  assert.ok(Object.is(kernel.sumOfSquares([view]), interleavedSumsq([view])), "view");
  assert.deepEqual(outer, before);
  assert.equal(kernel.sumOfSquares([]), 0);
});

test("AdamW kernel sum of squares: within float64 summation's bound of the exact sum", () => {
  const kernel = new AdamWKernel(constants);
  const tensors = [smooth(1_000_003, 1), smooth(65_537, 2), smooth(5, 3)];
  const n = tensors.reduce((a, t) => a + t.length, 0);
  const exact = compensatedSumsq(tensors);
  const got = kernel.sumOfSquares(tensors);
  // each partial sum adds ≤ n/8 terms, then 3 additions: relative error ≤ (n/8 + 3)·2⁻⁵³ (positive terms)
  const bound = (n / 8 + 3) * 2 ** -53;
  assert.ok(
    Math.abs(got - exact) / exact <= bound,
    `relative error ${Math.abs(got - exact) / exact} > ${bound}`,
  );
  let sequential = 0; // the one-chain sum the optimizer used before
  for (const t of tensors) for (const x of t) sequential += x * x;
  assert.ok(Math.abs(got - sequential) / sequential < 1e-12, `${got} vs sequential ${sequential}`);
});

test("AdamW kernel sum of squares: NaN and infinities propagate as in any float64 sum", () => {
  const kernel = new AdamWKernel(constants);
  const at = (n: number, i: number, x: number) => Object.assign(smooth(n, 1), { [i]: x });
  assert.ok(Number.isNaN(kernel.sumOfSquares([smooth(9, 0), at(16385, 16384, Number.NaN)])));
  assert.equal(kernel.sumOfSquares([at(7, 6, Number.NEGATIVE_INFINITY)]), Number.POSITIVE_INFINITY);
  assert.equal(kernel.sumOfSquares([at(20, 3, 3e38)]), interleavedSumsq([at(20, 3, 3e38)])); // 9e76: no float32 overflow
  assert.ok(Number.isNaN(kernel.sumOfSquares([at(5, 0, Number.POSITIVE_INFINITY), at(5, 4, Number.NaN)])));
  // the padding of a short tail is +0: a tensor of -0 sums to +0
  assert.ok(Object.is(kernel.sumOfSquares([new Float32Array(3).fill(-0)]), 0));
});
