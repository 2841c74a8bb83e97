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

test("VERSION_CACHE_MAX_BYTES: 100 GiB by default, a number of bytes when set, a bad value stops the worker at start", () => {
  assert.equal(workerConfigFromEnv(env).versionCacheMaxBytes, 100 * 2 ** 30);
  assert.equal(
    workerConfigFromEnv({ ...env, VERSION_CACHE_MAX_BYTES: "2000000000" }).versionCacheMaxBytes,
    2e9,
  );
  assert.throws(
    () => workerConfigFromEnv({ ...env, VERSION_CACHE_MAX_BYTES: "20G" }),
    /VERSION_CACHE_MAX_BYTES: 20G is not a positive number of bytes/,
  );
});
