import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32, randbelow } from "./random.js";

test("mulberry32 reproduces the oracle's reference u32 outputs", () => {
  const a = mulberry32(1234);
  assert.deepEqual(
    [a(), a(), a(), a(), a(), a()],
    [314799534, 3021131492, 3877737075, 4168477787, 175938938, 505788695],
  );
  const b = mulberry32(0);
  assert.deepEqual([b(), b(), b()], [1144304738, 1416247, 958946056]);
});

test("randbelow is floor(u32 · m / 2³²), exact beyond 2²¹", () => {
  const next = () => 4294967295;
  assert.equal(randbelow(next, 10), 9);
  assert.equal(randbelow(next, 2 ** 40), 2 ** 40 - 2 ** 8);
  assert.equal(
    randbelow(() => 3, 2 ** 52 + 1),
    3 * 2 ** 20,
  ); // (3·(2⁵²+1)) >> 32, where float math would round
});
