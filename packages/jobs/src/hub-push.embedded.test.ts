// Pushing a version to the Hub (the loopback stand-in): a pruned version of a Hub-registered base lands as a
// private repository with its checkpoint and a model card README.md (base_model, license, removed blocks,
// metrics), the lineage in the commit message; a license that forbids derivatives or a wrong token refuses it
// before anything is created.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type HubDeps,
  hubDepsFromEnv,
  type LocalStore,
  type OpenedDb,
  putTeamSecret,
} from "@shortened/adapters";
import { HubStandIn } from "@shortened/adapters/test-support/hub-stand-in";
import type { InProcessDispatcher } from "./embedded.js";
import { registerFromHub } from "./hub-models.js";
import { pushVersion } from "./hub-push.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, DEMO_MODEL, openEmbeddedSetup } from "./test-support/embedded-setup.js";

describe("push a version to the Hub (stand-in)", { timeout: 300_000 }, () => {
  const hub = new HubStandIn();
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let dispatcher: InProcessDispatcher;
  let deps: HubDeps;
  let pruned = "";
  let baseCommit = "";
  const env = { ...process.env };

  before(async () => {
    ({ db, dir, store, teamId, dispatcher } = await openEmbeddedSetup("shortened-push-"));
    process.env.HF_ENDPOINT = await hub.start();
    process.env.SECRETS_KEY = randomBytes(32).toString("hex");
    process.env.HF_CACHE_DIR = join(dir, "hub");
    deps = hubDepsFromEnv();
    hub.tokens.add("hf_writer");
    const files = Object.fromEntries(
      readdirSync(DEMO_MODEL)
        .filter((f) => f !== "PROVENANCE.md")
        .map((f) => [f, readFileSync(join(DEMO_MODEL, f))]),
    );
    baseCommit = hub.addRepo("acme/tiny", files, { license: "apache-2.0" });
    await registerFromHub(db.prisma, teamId, { name: "tiny-hub", uri: "hf://acme/tiny" }, { hub: deps });
    await putTeamSecret(db.prisma, deps.secretsKey, { teamId, name: "hf", value: "hf_writer" });
    await putTeamSecret(db.prisma, deps.secretsKey, { teamId, name: "bad", value: "hf_nope" });
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "prune",
      model: "tiny-hub",
      blocks: [3, 6],
    });
    const done = await db.prisma.job.findUniqueOrThrow({
      where: { id: job.id },
      include: { outputVersion: true },
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    pruned = done.outputVersion!.id;
  });
  after(async () => {
    process.env = env;
    await hub.stop();
    await closeEmbeddedSetup(db, dir);
  });

  const push = (repo: string, tokenSecret = "hf", priv = true) =>
    pushVersion(
      db.prisma,
      store,
      teamId,
      pruned,
      { repo, private: priv, tokenSecret },
      { hub: deps, cacheDir: join(dir, "push") },
    );

  it("creates a private repo with the checkpoint, a model card and the lineage in the commit message", async () => {
    const r = await push("team/tiny-pruned");
    assert.equal(r.private, true);
    const repo = hub.repo("team/tiny-pruned");
    assert.equal(repo.private, true);
    const files = hub.filesAt("team/tiny-pruned");
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "README.md"])
      assert.ok(files.has(f), f);
    assert.equal(JSON.parse(files.get("config.json")!.toString()).num_hidden_layers, 6);
    const card = files.get("README.md")!.toString();
    assert.match(card, /^---\nbase_model:\n- acme\/tiny\nlicense: apache-2.0\n/);
    assert.match(card, /removed blocks 3, 6|Removed blocks: 3, 6/i);
    const last = repo.log.at(-1)!;
    assert.equal(r.commit, last.commit);
    assert.match(last.summary, /^Shortened: tiny-hub v2 \(pruned\)$/);
    assert.match(last.description ?? "", /Lineage: v1 base.* -> v2 pruned/);
    assert.match(last.description ?? "", new RegExp(`Base model: acme/tiny@${baseCommit}`));
    // Pushing again adds a commit to the same repository.
    const again = await push("team/tiny-pruned");
    assert.notEqual(again.commit, r.commit);
  });

  it("refuses a license without derivatives and a wrong token, creating nothing", async () => {
    await assert.rejects(push("team/other", "bad"), (e: Error & { code?: string }) => {
      assert.equal(e.code, "hub_unauthorized", e.message);
      assert.ok(!e.message.includes("hf_nope"));
      return true;
    });
    assert.ok(!hub.repos.has("team/other"));
    const base = await db.prisma.model.findFirstOrThrow({ where: { name: "tiny-hub" } });
    await db.prisma.model.update({ where: { id: base.id }, data: { license: "cc-by-nc-nd-4.0" } });
    try {
      await assert.rejects(push("team/other"), /license cc-by-nc-nd-4.0 allows no derivatives/);
      assert.ok(!hub.repos.has("team/other"));
    } finally {
      await db.prisma.model.update({ where: { id: base.id }, data: { license: "apache-2.0" } });
    }
  });
});
