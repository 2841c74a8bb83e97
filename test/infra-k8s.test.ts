// The Kubernetes manifests (infra/k8s: a kustomize base and the production and trial overlays), rendered as an
// operator would apply them and validated against the Kubernetes schemas (kubernetes-models: the OpenAPI schemas
// of each kind, offline), then checked against the code: every variable of the automation contract reaches the
// API and the workers, the images carry the overlay's registry, the API and workers wait for the migrations
// job, probes point at /readyz and /healthz, GPU workers request nvidia.com/gpu, and a worker's termination
// grace period covers its shutdown grace. Where kubectl is installed, its own kustomize render must agree.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { containersOf, type K8sObject, renderKustomization } from "./helpers/kustomize.js";
import { ENV_CONTRACT, repoRoot } from "./helpers/service.js";

const k8s = join(repoRoot, "infra", "k8s");
const overlays = ["production", "trial"] as const;
/** Keys the operator's own `shortened-secrets` must hold in production (overlays/production/kustomization.yaml). */
const secretKeys = ["DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

type Container = {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  [k: string]: unknown;
};
const find = (objs: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} is rendered`);
  return o;
};
const podSpec = (o: K8sObject) =>
  (o["spec"] as { template: { spec: Record<string, unknown> } }).template.spec;
const mainContainer = (o: K8sObject) => (podSpec(o)["containers"] as Container[])[0]!;
const dataOf = (o: K8sObject): Record<string, string> => ({
  ...(o["data"] as Record<string, string>),
  ...(o["stringData"] as Record<string, string>),
});

async function validate(o: K8sObject): Promise<void> {
  const mod = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<
    string,
    new (
      x: unknown,
    ) => { validate(): void }
  >;
  const Model = mod[o.kind];
  assert.ok(Model, `kubernetes-models has ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}

const sortKey = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const sorted = (objs: K8sObject[]) => [...objs].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;

for (const overlay of overlays) {
  describe(`infra/k8s/overlays/${overlay}`, () => {
    const dir = join(k8s, "overlays", overlay);
    const objs = renderKustomization(dir);

    test("renders to objects the Kubernetes schemas accept, all in the shortened namespace", async () => {
      assert.ok(objs.length >= 6);
      for (const o of objs) {
        await validate(o);
        if (o.kind !== "Namespace") assert.equal(o.metadata.namespace, "shortened", sortKey(o));
      }
    });

    test("kubectl kustomize renders the same objects", {
      skip: !kubectl && "kubectl is not installed",
    }, () => {
      const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const theirs = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
      assert.deepEqual(sorted(objs), sorted(theirs));
    });

    test("the API and the workers get the contract, the overlay's images, and wait for the migrations", () => {
      const config = dataOf(find(objs, "ConfigMap", "shortened-config"));
      const secret = objs.find((o) => o.kind === "Secret" && o.metadata.name === "shortened-secrets");
      // production: the operator creates the Secret (its keys are named in the overlay's instructions)
      const secretData = secret ? dataOf(secret) : Object.fromEntries(secretKeys.map((k) => [k, "set"]));
      if (!secret) {
        const doc = readFileSync(join(dir, "kustomization.yaml"), "utf8");
        for (const k of secretKeys) assert.match(doc, new RegExp(`--from-literal=${k}=`), k);
      }
      assert.equal(config["MIGRATE_ON_START"], "0");
      const migrate = find(objs, "Job", "shortened-migrate");
      const migrateContainer = mainContainer(migrate);
      assert.deepEqual(migrateContainer.args, ["admin", "migrate"]);

      for (const [name, image] of [
        ["shortened-api", "shortened"],
        ["shortened-worker", "shortened-worker"],
      ] as const) {
        const d = find(objs, "Deployment", name);
        const c = mainContainer(d);
        const env = new Set([
          ...Object.keys(config),
          ...Object.keys(secretData),
          ...(c.env ?? []).map((e) => e.name),
        ]);
        assert.deepEqual(
          ENV_CONTRACT.filter((k) => !env.has(k)),
          [],
          `${name} lacks part of the contract`,
        );
        assert.ok(c.envFrom?.some((e) => e.configMapRef?.name === "shortened-config"));
        assert.ok(c.envFrom?.some((e) => e.secretRef?.name === "shortened-secrets"));
        // the image comes from the overlay's registry, never an unqualified :latest
        for (const x of containersOf(d))
          assert.match(
            x.image,
            new RegExp(`^[\\w.-]+(:\\d+)?/[\\w./-]*/${image}:[\\w.-]+$`),
            `${name}/${x.name}`,
          );
        const [wait] = podSpec(d)["initContainers"] as Container[];
        assert.ok(wait, `${name} has an init container`);
        assert.equal(wait.image, c.image, "the init container runs the pod's own image");
        assert.match(
          (wait.args ?? []).join(" "),
          /until node apps\/cli\/bin\/shortened\.js admin migrate --check;/,
        );
        assert.ok(wait.envFrom?.some((e) => e.secretRef?.name === "shortened-secrets"));
      }
      assert.equal(migrateContainer.image, mainContainer(find(objs, "Deployment", "shortened-api")).image);
    });

    test("probes, GPU requests and shutdown grace", () => {
      const api = mainContainer(find(objs, "Deployment", "shortened-api"));
      assert.deepEqual(api.args, ["serve"]);
      assert.equal((api["readinessProbe"] as { httpGet: { path: string } }).httpGet.path, "/readyz");
      assert.equal((api["livenessProbe"] as { httpGet: { path: string } }).httpGet.path, "/healthz");
      assert.ok(api.env?.some((e) => e.name === "PORT"));
      const svc = find(objs, "Service", "shortened-api")["spec"] as { ports: { targetPort: string }[] };
      assert.equal(svc.ports[0]!.targetPort, "http");

      const workerDeployment = find(objs, "Deployment", "shortened-worker");
      const worker = mainContainer(workerDeployment);
      assert.deepEqual(worker.args, ["worker"]);
      const resources = worker["resources"] as { limits: Record<string, unknown> };
      assert.equal(resources.limits["nvidia.com/gpu"], 1);
      const env = Object.fromEntries((worker.env ?? []).map((e) => [e.name, e.value]));
      assert.equal(env["WORKER_CONCURRENCY"], "1");
      assert.equal(env["WORKER_METRICS_PORT"], "9464");
      // A GPU pod: specs that leave `device` unset run on CUDA.
      assert.equal(env["WORKER_DEVICE"], "cuda");
      const grace = podSpec(workerDeployment)["terminationGracePeriodSeconds"] as number;
      assert.ok(grace * 1000 > Number(env["SHUTDOWN_GRACE_MS"]), "grace must exceed SHUTDOWN_GRACE_MS");
      // The same lock timings for every worker (stalled-job recovery relies on it): set once, in the ConfigMap.
      assert.ok(!("WORKER_LOCK_MS" in env) && !("WORKER_STALLED_INTERVAL_MS" in env));
      const config = dataOf(find(objs, "ConfigMap", "shortened-config"));
      for (const k of ["WORKER_LOCK_MS", "WORKER_STALLED_INTERVAL_MS"]) assert.ok(k in config, k);
    });

    test("endpoints: external in production; in-cluster PostgreSQL and Redis services in the trial", () => {
      const config = dataOf(find(objs, "ConfigMap", "shortened-config"));
      const services = new Set(objs.filter((o) => o.kind === "Service").map((o) => o.metadata.name));
      const redisHost = new URL(config["REDIS_URL"]!).hostname;
      if (overlay === "trial") {
        const dbHost = new URL(dataOf(find(objs, "Secret", "shortened-secrets"))["DATABASE_URL"]!).hostname;
        assert.ok(services.has(redisHost), `REDIS_URL names the service ${redisHost}`);
        assert.ok(services.has(dbHost), `DATABASE_URL names the service ${dbHost}`);
        find(objs, "StatefulSet", dbHost);
        find(objs, "Deployment", redisHost);
      } else {
        assert.ok(!services.has(redisHost));
        assert.ok(!objs.some((o) => o.kind === "StatefulSet" || o.kind === "Secret"));
      }
    });
  });
}

test("images: npm ci without install scripts (npm 10 or 11), the needed scripts run by name", () => {
  for (const file of ["Dockerfile", "worker.Dockerfile"]) {
    const text = readFileSync(join(repoRoot, "infra", file), "utf8");
    assert.match(text, /npm ci --ignore-scripts/, file);
    assert.match(text, /prisma generate/, file);
    assert.doesNotMatch(text, /RUN npm (ci|install)(?! --ignore-scripts)/, file);
  }
  const worker = readFileSync(join(repoRoot, "infra", "worker.Dockerfile"), "utf8");
  assert.match(worker, /CMD \["worker"\]/);
  assert.match(worker, /^ENV .*\bWORKER_DEVICE=cuda\b/m);
  assert.doesNotMatch(readFileSync(join(repoRoot, "infra", "Dockerfile"), "utf8"), /WORKER_DEVICE=cuda/);
});
