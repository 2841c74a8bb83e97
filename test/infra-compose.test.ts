// docker-compose.yml: valid for docker-compose (`config -q`, where the tool is installed: it needs no daemon),
// and every process of it gets the automation contract and builds from infra/Dockerfile.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { ENV_CONTRACT, repoRoot } from "./helpers/service.js";

const file = join(repoRoot, "docker-compose.yml");
const hasCompose = spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0;

test("docker-compose config -q accepts docker-compose.yml", {
  skip: !hasCompose && "docker-compose is not installed",
}, () => {
  const r = spawnSync("docker-compose", ["-f", file, "config", "-q"], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});

test("the API and the worker build from infra/Dockerfile and get the contract", () => {
  const compose = parse(readFileSync(file, "utf8"), { merge: true }) as {
    services: Record<string, { build?: { dockerfile: string }; environment?: Record<string, string> }>;
  };
  for (const name of ["api", "worker"]) {
    const s = compose.services[name]!;
    assert.equal(s.build?.dockerfile, "infra/Dockerfile", name);
    for (const k of ENV_CONTRACT) assert.ok(k in (s.environment ?? {}), `${name} lacks ${k}`);
  }
  // The CPU image: its worker says so (a job asking for cuda fails there with the reason).
  assert.equal(compose.services["worker"]!.environment?.["WORKER_DEVICE"], "cpu");
});
