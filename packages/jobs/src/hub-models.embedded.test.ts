// Registering models from the Hugging Face Hub (hf://org/name@revision) against the loopback stand-in, in
// embedded mode (PGlite, a local store): the commit is recorded, a job downloads the same commit into the
// worker's cache, and every refusal is a clear error that leaves no model row and nothing in the cache.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  addModelSource,
  HubCache,
  type HubDeps,
  hubDepsFromEnv,
  type LocalStore,
  type OpenedDb,
  parseHubUri,
  putTeamSecret,
  resolveSnapshot,
} from "@shortened/adapters";
import { HubStandIn } from "@shortened/adapters/test-support/hub-stand-in";
import type { Ports } from "@shortened/contracts";
import { InProcessDispatcher } from "./embedded.js";
import { registerFromHub } from "./hub-models.js";
import { registerFromUri } from "./models.js";
import { runJob } from "./runner.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, DEMO_MODEL, openEmbeddedSetup } from "./test-support/embedded-setup.js";

const demoFiles = () =>
  Object.fromEntries(
    readdirSync(DEMO_MODEL)
      .filter((f) => f !== "PROVENANCE.md")
      .map((f) => [f, readFileSync(join(DEMO_MODEL, f))]),
  );

describe("models from the Hub (embedded, stand-in Hub)", { timeout: 300_000 }, () => {
  const hub = new HubStandIn();
  let db: OpenedDb;
  let dir: string;
  let teamId: string;
  let store: LocalStore;
  let deps: HubDeps;
  const env = { ...process.env };

  before(async () => {
    ({ db, dir, teamId, store } = await openEmbeddedSetup("shortened-hub-"));
    process.env.HF_ENDPOINT = await hub.start();
    process.env.SECRETS_KEY = randomBytes(32).toString("hex");
    process.env.HF_CACHE_DIR = join(dir, "api-hub");
    deps = hubDepsFromEnv();
    hub.tokens.add("hf_team");
    hub.tokens.add("hf_stranger");
  });
  after(async () => {
    process.env = env;
    await hub.stop();
    await closeEmbeddedSetup(db, dir);
  });

  const models = () => db.prisma.model.count();
  const register = (
    name: string,
    uri: string,
    extra: { tokenSecret?: string } = {},
    operatorSources: string[] = [],
  ) => registerFromUri(db.prisma, store, teamId, { name, uri, ...extra }, { operatorSources, hub: deps });

  it("registers hf://org/name@main at its commit, and a job runs on it from the worker's cache", async () => {
    const commit = hub.addRepo("acme/tiny", demoFiles(), { license: "apache-2.0" });
    await assert.rejects(
      register("tiny-hub", "hf://acme/tiny@main"),
      /not an allowed model source.*hf:\/\/acme\//,
    );
    await addModelSource(db.prisma, { teamId, uri: "hf://acme/", storeBucket: "" });
    const { model, version } = await register("tiny-hub", "hf://acme/tiny@main");
    assert.equal(model.sourceUri, `hf://acme/tiny@${commit}`);
    assert.equal(model.license, "apache-2.0");
    assert.equal(version.storagePrefix, `hf://acme/tiny@${commit}/`);
    assert.deepEqual((version.recipe as { hub: unknown }).hub, {
      repo: "acme/tiny",
      revision: "main",
      commit,
    });
    const files = await db.prisma.artifact.findMany({
      where: { versionId: version.id },
      orderBy: { name: "asc" },
    });
    assert.deepEqual(
      files.map((f) => f.name),
      ["config.json", "model.safetensors", "tokenizer.json", "tokenizer.model", "tokenizer_config.json"],
    );
    // The branch moves on: the registered version keeps its commit, and the job's download is of that commit.
    hub.commitFiles("acme/tiny", {
      "config.json": readFileSync(join(DEMO_MODEL, "config.json")).toString().replace("}", ', "x": 1}'),
    });
    // A worker with its own cache (WORKER_CACHE_DIR/hub) downloads the registered commit, not the new main.
    delete process.env.HF_CACHE_DIR;
    const dispatcher = new InProcessDispatcher(db.prisma, store, join(dir, "worker"), {});
    const mark = hub.requests.length;
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "prune",
      model: "tiny-hub",
      blocks: [3],
    });
    const done = await db.prisma.job.findUniqueOrThrow({
      where: { id: job.id },
      include: { outputVersion: true },
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const fetched = hub.requests.slice(mark).filter((r) => r.path.includes("/resolve/"));
    assert.ok(fetched.length > 0 && fetched.every((r) => r.path.includes(`/resolve/${commit}/`)));
    assert.ok(!JSON.stringify(done.outputVersion?.config).includes('"x":1'), "the pinned config");
    assert.deepEqual(
      readdirSync(join(dir, "worker", "hub")).filter((f) => !f.startsWith(".")),
      ["acme--tiny"],
    );
  });

  it("private and gated repos use the team secret; a wrong token, no access, a missing file, a size over budget: nothing registered", async () => {
    await addModelSource(db.prisma, { teamId, uri: "hf://", storeBucket: "" });
    hub.addRepo("corp/private", demoFiles(), { private: true });
    hub.addRepo("corp/gated", demoFiles(), { gatedFor: ["hf_team"] });
    await putTeamSecret(db.prisma, deps.secretsKey, { teamId, name: "hf", value: "hf_team" });
    await putTeamSecret(db.prisma, deps.secretsKey, { teamId, name: "stranger", value: "hf_stranger" });
    await putTeamSecret(db.prisma, deps.secretsKey, { teamId, name: "revoked", value: "hf_revoked" });
    const before = await models();
    const cached = async () => (await deps.cache.list()).map((s) => s.repo);
    const refused = async (p: Promise<unknown>, code: string, re: RegExp) => {
      await assert.rejects(p, (e: Error & { code?: string; status?: number }) => {
        assert.equal(e.code, code, e.message);
        assert.match(e.message, re);
        assert.ok(
          !e.message.includes("hf_team") && !e.message.includes("hf_revoked"),
          "no token in messages",
        );
        return true;
      });
      assert.equal(await models(), before, "nothing half-registered");
    };
    await refused(register("p1", "hf://corp/private@main"), "hub_unauthorized", /private.*tokenSecret/);
    await refused(
      register("p2", "hf://corp/private@main", { tokenSecret: "revoked" }),
      "hub_unauthorized",
      /"revoked".*wrong or revoked/,
    );
    await refused(register("p3", "hf://corp/gated@main", { tokenSecret: "stranger" }), "hub_gated", /403/);
    await refused(
      register("p4", "hf://corp/private@main", { tokenSecret: "nope" }),
      "not_found",
      /no team secret "nope"/,
    );
    assert.ok(!(await cached()).some((r) => r.startsWith("corp/")));
    hub.addRepo("corp/sharded", {
      "config.json": readFileSync(join(DEMO_MODEL, "config.json")),
      "model.safetensors.index.json": JSON.stringify({
        weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" },
      }),
      "model-00001-of-00002.safetensors": Buffer.alloc(10),
    });
    await refused(
      register("p5", "hf://corp/sharded@main"),
      "hub_not_found",
      /model-00002-of-00002.safetensors/,
    );
    const small = { ...deps, config: { ...deps.config, maxModelBytes: 1_000_000 } };
    await assert.rejects(
      registerFromHub(
        db.prisma,
        teamId,
        { name: "p6", uri: "hf://corp/gated@main", tokenSecret: "hf" },
        { hub: small, operatorSources: [] },
      ),
      /over this service's size budget/,
    );
    assert.equal(await models(), before);
    // With the right secrets both register.
    await register("private-ok", "hf://corp/private@main", { tokenSecret: "hf" });
    await register("gated-ok", "hf://corp/gated@main", { tokenSecret: "hf" });
    assert.equal(await models(), before + 2);
  });

  it("a truncated download and bytes that changed under the same name: 502 with the reason, nothing cached; the retry resumes", async () => {
    await addModelSource(db.prisma, { teamId, uri: "hf://flaky/", storeBucket: "" }).catch(() => {});
    hub.addRepo("flaky/tiny", demoFiles());
    const before = await models();
    hub.serveInstead.set(
      "model.safetensors",
      Buffer.alloc(readFileSync(join(DEMO_MODEL, "model.safetensors")).length, 1),
    );
    await assert.rejects(
      register("f1", "hf://flaky/tiny@main"),
      (e: Error & { code?: string; status?: number }) => {
        assert.equal(e.code, "hub_integrity");
        assert.equal(e.status, 502);
        assert.match(e.message, /changed under the same name/);
        return true;
      },
    );
    hub.serveInstead.delete("model.safetensors");
    assert.ok(!(await deps.cache.list()).some((s) => s.repo === "flaky/tiny"));
    hub.truncateOnce.set("model.safetensors", 500_000);
    await assert.rejects(
      register("f2", "hf://flaky/tiny@main"),
      (e: Error & { code?: string; status?: number }) => {
        assert.equal(e.code, "hub_unavailable");
        assert.equal(e.status, 502);
        assert.match(
          e.message,
          /model.safetensors: the download stopped at \d+ of 1724272 bytes.*a retry resumes it/,
        );
        return true;
      },
    );
    assert.equal(await models(), before);
    assert.ok(!(await deps.cache.list()).some((s) => s.repo === "flaky/tiny"));
    const mark = hub.requests.length;
    await register("f3", "hf://flaky/tiny@main");
    assert.ok(
      hub.requests.slice(mark).some((r) => /^bytes=[1-9]\d*-1724271$/.test(r.range ?? "")),
      "resumed where it stopped",
    );
    assert.equal(await models(), before + 1);
  });

  it("a running job's Hub snapshot is pinned: another download over the cache bound does not evict it", async () => {
    hub.addRepo("acme/other", {
      ...demoFiles(),
      "config.json": readFileSync(join(DEMO_MODEL, "config.json")),
    });
    const size = readdirSync(DEMO_MODEL)
      .filter((f) => f !== "PROVENANCE.md")
      .reduce((n, f) => n + readFileSync(join(DEMO_MODEL, f)).length, 0);
    // A worker whose Hub cache holds about one model.
    const cache = new HubCache(join(dir, "small-hub"), {
      ...deps.config,
      cacheMaxBytes: Math.floor(size * 1.5),
    });
    const worker: HubDeps = { ...deps, cache };
    let seen: { readable: boolean; cached: string[] } | undefined;
    const handlers = {
      evaluate: async (_spec: unknown, ports: Ports) => {
        const model = await ports.checkpoints.materialize(ports.context.input, ports.signal);
        // Another job on this machine downloads another model meanwhile.
        await cache.ensure(await resolveSnapshot(deps.config, parseHubUri("hf://acme/other@main")));
        seen = {
          readable: readFileSync(join(model, "model.safetensors")).length > 0,
          cached: (await cache.list()).map((s) => s.repo).sort(),
        };
        return { artifacts: [], metrics: [], summary: {} };
      },
    };
    const idle = { dispatch: async () => {}, cancel: async () => {} };
    const { job } = await submitJob(db.prisma, idle, teamId, { kind: "evaluate", model: "tiny-hub@1" });
    const out = await runJob(
      { db: db.prisma, store, cacheDir: join(dir, "pin-worker"), hub: worker, handlers: handlers as never },
      job.id,
    );
    assert.equal(out.status, "succeeded");
    assert.deepEqual(seen, { readable: true, cached: ["acme/other", "acme/tiny"] });
    // The attempt ended: its pin is gone, and the next download may evict the snapshot.
    const pins = join(cache.dir, ".pins", "acme--tiny");
    for (const commit of readdirSync(pins)) assert.deepEqual(readdirSync(join(pins, commit)), []);
    hub.addRepo("acme/third", demoFiles());
    await cache.ensure(await resolveSnapshot(deps.config, parseHubUri("hf://acme/third@main")));
    assert.ok(!(await cache.list()).some((s) => s.repo === "acme/tiny"));
  });
});
