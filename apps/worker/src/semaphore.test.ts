import assert from "node:assert/strict";
import { it } from "node:test";
import { Semaphore } from "./semaphore.js";

const tick = () => new Promise((r) => setImmediate(r));
/** Records `name` in `order` when the slot is granted, and passes the release on. */
const noting =
  (order: string[], name: string) =>
  <T>(release: T): T => {
    order.push(name);
    return release;
  };

it("keeps the reserved slot for interactive jobs and serves them first", async () => {
  const s = new Semaphore(1, 1);
  const order: string[] = [];
  const batch1 = await s.acquire();
  // A second batch job waits: the reserved slot is not for it.
  const batch2 = s.acquire().then(noting(order, "batch2"));
  await tick();
  assert.deepEqual(order, []);
  // An interactive job starts at once in the reserved slot.
  const inter1 = await s.acquire(true);
  // Both slots are taken: the next interactive job waits, and goes before the waiting batch job.
  const inter2 = s.acquire(true).then(noting(order, "inter2"));
  await tick();
  batch1();
  await tick();
  assert.deepEqual(order, ["inter2"]);
  inter1();
  await tick();
  assert.deepEqual(order, ["inter2"], "one job runs: batch jobs use only the ordinary slot");
  (await inter2)();
  await tick();
  assert.deepEqual(order, ["inter2", "batch2"]);
  (await batch2)();
});

it("without a reserved slot an interactive job still waits its turn at the front", async () => {
  const s = new Semaphore(1);
  const order: string[] = [];
  const first = await s.acquire();
  const b = s.acquire().then(noting(order, "batch"));
  const i = s.acquire(true).then(noting(order, "interactive"));
  first();
  await tick();
  assert.deepEqual(order, ["interactive"]);
  (await i)();
  await tick();
  assert.deepEqual(order, ["interactive", "batch"]);
  (await b)();
});
