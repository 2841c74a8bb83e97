import assert from "node:assert/strict";
import { test } from "node:test";
import { workerConfigFromEnv } from "./config.js";

const env = { DATABASE_URL: "postgres://u:p@127.0.0.1:1/db" };

test("WORKER_DEVICE: cpu by default, cuda when set, anything else refused by name", () => {
  assert.equal(workerConfigFromEnv(env).device, "cpu");
  assert.equal(workerConfigFromEnv({ ...env, WORKER_DEVICE: "cuda" }).device, "cuda");
  assert.equal(workerConfigFromEnv({ ...env, WORKER_DEVICE: " cpu " }).device, "cpu");
  assert.throws(
    () => workerConfigFromEnv({ ...env, WORKER_DEVICE: "gpu" }),
    /WORKER_DEVICE must be one of cpu, cuda, not gpu/,
  );
});
