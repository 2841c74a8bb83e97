// The gradient session writes into the caller's arrays (no runtime-owned buffer nor copy beside them), and every
// element of them, whatever they held before: the trainer reuses one set step after step.
import assert from "node:assert/strict";
import { it } from "node:test";
import { parameterShapes } from "../models/architecture.js";
import { checkpointWeights, openCheckpoint } from "../models/weights.js";
import { DEMO_MODEL } from "../test-support/engine-fixtures.js";
import { microBatch } from "./data.js";
import { GradSession } from "./grad-session.js";

it("writes every gradient element into the given arrays, run after run", async () => {
  const ckpt = openCheckpoint(DEMO_MODEL);
  const trainable = parameterShapes(ckpt.config)
    .filter((p) => p.name.includes("layers.1.") || p.name === "model.norm.weight")
    .map(({ name, shape }) => ({ name, dims: shape }));
  const session = await GradSession.create({
    ckpt,
    trainable,
    hooks: (g, input) => {
      const frozen = checkpointWeights(g, ckpt);
      return {
        weight: (name: string) => (trainable.some((t) => t.name === name) ? input(name) : frozen(name)),
      };
    },
  });
  try {
    const params = new Map(trainable.map((t) => [t.name, ckpt.readFloat32(t.name)]));
    const rows = { ids: [[1, 5, 9, 14, 3, 7, 2, 11]], labels: [[1, 5, 9, 14, 3, 7, 2, 11]], source: "test" };
    const mb = microBatch(rows, [0], 0);
    const fresh = new Map(trainable.map((t) => [t.name, new Float32Array(params.get(t.name)!.length)]));
    const first = await session.run(mb, params, fresh);
    const expected = new Map([...fresh].map(([n, x]) => [n, x.slice()]));
    assert.ok(
      [...fresh.values()].some((x) => x.some((v) => v !== 0)),
      "gradients were written",
    );
    // Garbage in the reused arrays must not leak into the next gradients.
    for (const x of fresh.values()) x.fill(Number.NaN);
    const again = await session.run(mb, params, fresh);
    for (const [name, x] of fresh) assert.deepEqual(x, expected.get(name), `${name}: same values`);
    assert.equal(again.nllSum, first.nllSum);
  } finally {
    await session.release();
  }
});
