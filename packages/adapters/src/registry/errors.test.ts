import assert from "node:assert/strict";
import { test } from "node:test";
import { isDatabaseBusy, isUniqueViolation } from "./errors.js";

test("database busy: Prisma pool and transaction timeouts, PostgreSQL conflicts; not bad input", () => {
  // Shapes as Prisma 7 raises them through the driver adapters.
  assert.ok(
    isDatabaseBusy({
      code: "P2028",
      message: "Transaction API error: Unable to start a transaction in the given time.",
    }),
  );
  assert.ok(
    isDatabaseBusy({
      code: "P2024",
      message: "Timed out fetching a new connection from the connection pool.",
    }),
  );
  assert.ok(
    isDatabaseBusy({
      message: "Transaction already closed: A query cannot be executed on an expired transaction.",
    }),
  );
  assert.ok(isDatabaseBusy({ code: "P2010", cause: { originalCode: "40P01" } }));
  assert.ok(isDatabaseBusy({ cause: { code: "40001" } }));
  assert.ok(!isDatabaseBusy({ code: "P2002", message: "Unique constraint failed" }));
  assert.ok(!isDatabaseBusy({ code: "P2025", message: "Record to update not found." }));
  assert.ok(!isDatabaseBusy(new Error("boom")));
  assert.ok(!isDatabaseBusy(undefined));
  assert.ok(isUniqueViolation({ cause: { code: "23505" } }));
});
