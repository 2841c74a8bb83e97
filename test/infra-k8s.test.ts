// The Kubernetes manifests in infra/k8s agree with the code: every file is in the kustomization, the
// API and the workers get every variable of the automation contract, probes point at /readyz and
// /healthz, GPU workers request nvidia.com/gpu, migrations run as a job before the processes start,
// and a worker's termination grace period covers its shutdown grace.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "./helpers/service.js";

const dir = join(repoRoot, "infra", "k8s");
const read = (f: string) => readFileSync(join(dir, f), "utf8");
/** `KEY: value` lines of a ConfigMap/Secret data block, and `- name: KEY` env entries. */
const keysOf = (text: string) =>
  new Set([
    ...[...text.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]),
    ...[...text.matchAll(/- name: ([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]),
  ]);
const contract = [
  "DATABASE_URL",
  "REDIS_URL",
  "S3_ENDPOINT",
  "S3_BUCKET",
  "S3_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
];

test("infra/k8s: manifests cover the deployment the code expects", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
  const kustomization = read("kustomization.yaml");
  for (const f of files) assert.match(kustomization, new RegExp(`- ${f.replace(".", "\\.")}$`, "m"), f);

  const shared = new Set([...keysOf(read("configmap.yaml")), ...keysOf(read("secret.yaml"))]);
  const api = read("api-deployment.yaml");
  const worker = read("worker-deployment.yaml");
  for (const [name, text] of [
    ["api", api],
    ["worker", worker],
  ]) {
    assert.match(text, /configMapRef:\s+name: shortened-config/, name);
    assert.match(text, /secretRef:\s+name: shortened-secrets/, name);
    const env = new Set([...shared, ...keysOf(text)]);
    assert.deepEqual(
      contract.filter((k) => !env.has(k)),
      [],
      `${name} lacks part of the contract`,
    );
  }
  assert.ok(keysOf(api).has("PORT"));
  assert.match(api, /readinessProbe:\s+httpGet: \{ path: \/readyz/);
  assert.match(api, /livenessProbe:\s+httpGet: \{ path: \/healthz/);
  assert.match(api, /args: \["serve"\]/);
  assert.match(read("api-service.yaml"), /targetPort: http/);

  assert.match(worker, /args: \["worker"\]/);
  assert.match(worker, /limits: \{[^}]*nvidia\.com\/gpu: 1/);
  assert.match(worker, /name: WORKER_CONCURRENCY\s+value: "1"/);
  const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(worker)?.[1]);
  const shutdown = Number(/name: SHUTDOWN_GRACE_MS\s+value: "(\d+)"/.exec(worker)?.[1]);
  assert.ok(grace * 1000 > shutdown, `grace ${grace}s must exceed SHUTDOWN_GRACE_MS ${shutdown}`);
  assert.match(worker, /prometheus\.io\/port: "9464"/);
  assert.match(worker, /name: WORKER_METRICS_PORT\s+value: "9464"/);

  assert.match(read("migrations-job.yaml"), /args: \["admin", "migrate"\]/);
  assert.match(read("configmap.yaml"), /MIGRATE_ON_START: "0"/);
  // The same lock timings for every worker (stalled-job recovery relies on it): set once, in the ConfigMap.
  assert.ok(!/WORKER_LOCK_MS|WORKER_STALLED_INTERVAL_MS/.test(worker));
  for (const k of ["WORKER_LOCK_MS", "WORKER_STALLED_INTERVAL_MS"]) assert.ok(shared.has(k), k);
  const image = readFileSync(join(repoRoot, "infra", "worker.Dockerfile"), "utf8");
  assert.match(image, /--onnxruntime-node-install=cuda12/);
  assert.match(image, /CMD \["worker"\]/);
});
