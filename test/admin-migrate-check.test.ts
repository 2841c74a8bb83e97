// `shortened admin migrate --check`, what the Kubernetes init containers wait on (infra/k8s/base): exit 2 with
// one line naming the pending migrations, applying nothing; exit 0 once `admin migrate` has run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "./helpers/cli.js";
import { createTestDatabase } from "./helpers/service.js";

test("admin migrate --check: 2 while migrations are pending (nothing applied), 0 after admin migrate", async () => {
  const db = await createTestDatabase();
  try {
    const env = { DATABASE_URL: db.url };
    const pending = runCli(["admin", "migrate", "--check"], { env });
    assert.equal(pending.code, 2, pending.stderr);
    assert.match(pending.stderr.trim(), /^error: database has \d+ pending migration\(s\) \(\d+_init, /);
    assert.equal(runCli(["admin", "migrate", "--check"], { env }).code, 2, "--check applied nothing");
    assert.equal(runCli(["admin", "migrate"], { env }).code, 0);
    const done = runCli(["admin", "migrate", "--check"], { env });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout.trim(), "database is up to date");
  } finally {
    await db.drop();
  }
});
