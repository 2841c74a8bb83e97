// Pushing a version to the Hub (the loopback stand-in) as a push job: a pruned version of a Hub-registered base
// lands as a private repository with its checkpoint and a model card README.md (base_model, license, removed
// blocks, metrics), the lineage in the commit message, progress file by file; the same files again make no
// commit, and a retry after a lost answer finds the commit instead of making a second; a license that forbids
// derivatives or a wrong token refuses it before anything is created.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type HubDeps, hubDepsFromEnv, type OpenedDb, putTeamSecret } from "@shortened/adapters";
import { HubStandIn } from "@shortened/adapters/test-support/hub-stand-in";
import type { PushOutcome } from "@shortened/contracts";
import type { InProcessDispatcher } from "./embedded.js";
import { registerFromHub } from "./hub-models.js";
import { pushRefusal } from "./hub-push.js";
import { retryJob, submitJob } from "./submit.js";
import { closeEmbeddedSetup, DEMO_MODEL, openEmbeddedSetup } from "./test-support/embedded-setup.js";

describe("push a version to the Hub (stand-in)", { timeout: 300_000 }, () => {
  const hub = new HubStandIn();
  let db: OpenedDb;
  let dir: string;
  let teamId: string;
  let dispatcher: InProcessDispatcher;
  let deps: HubDeps;
  let pruned = "";
  let baseCommit = "";
  const env = { ...process.env };

  before(async () => {
    ({ db, dir, teamId, dispatcher } = await openEmbeddedSetup("shortened-push-"));
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

  const cacheDir = () => join(dir, "cache");
  /** A push job run to its end in this process; the job row. */
  const push = async (repo: string, tokenSecret = "hf", priv = true) => {
    const { job } = await submitJob(
      db.prisma,
      dispatcher,
      teamId,
      { kind: "push", model: pruned, repo, private: priv, tokenSecret },
      { push: true },
    );
    return db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
  };
  const result = (job: { result: unknown }) => job.result as PushOutcome;

  it("a push job creates a private repo with the checkpoint and a model card, reporting each file", async () => {
    const job = await push("team/tiny-pruned");
    assert.equal(job.state, "succeeded", job.reason ?? "");
    const r = result(job);
    assert.equal(r.private, true);
    assert.equal(r.committed, true);
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
    assert.ok(r.url.endsWith(`/team/tiny-pruned/commit/${last.commit}`), r.url);
    assert.match(last.summary, /^Shortened: tiny-hub v2 \(pruned\)$/);
    assert.match(last.description ?? "", /Lineage: v1 base.* -> v2 pruned/);
    assert.match(last.description ?? "", new RegExp(`Base model: acme/tiny@${baseCommit}`));
    // Progress: the bytes sent, file by file, up to all of them.
    const events = await db.prisma.jobEvent.findMany({ where: { jobId: job.id }, orderBy: { seq: "asc" } });
    const logs = events.filter((e) => e.type === "log").map((e) => String((e.data as { line: string }).line));
    assert.ok(
      logs.some((l) => /^push: \d+\/\d+ files/.test(l)),
      logs.join("\n"),
    );
    assert.ok(
      logs.includes(
        `push: ${r.files.length}/${r.files.length} files, ${totalBytes(files, r.files)} of ${totalBytes(files, r.files)} bytes`,
      ),
      logs.join("\n"),
    );
    assert.equal(job.progress, 1);
    // The version was staged in the attempt's scratch folder, which is gone.
    assert.ok(!existsSync(join(cacheDir(), "versions", pruned)));
    assert.deepEqual(readdirSync(join(cacheDir(), "work")), []);
  });

  it("pushing the same files again makes no commit; a push whose answer was lost is retried without a second commit", async () => {
    const repo = hub.repo("team/tiny-pruned");
    const before = repo.log.length;
    const again = await push("team/tiny-pruned");
    assert.equal(again.state, "succeeded", again.reason ?? "");
    assert.equal(result(again).committed, false);
    assert.equal(result(again).commit, repo.log.at(-1)!.commit);
    assert.equal(repo.log.length, before);
    // Another repository: the commit lands but the answer is lost; the job fails and its retry finds the commit.
    hub.dropCommitAnswerOnce = true;
    const lost = await push("team/tiny-lost");
    assert.equal(lost.state, "failed");
    const landed = hub.repo("team/tiny-lost").log;
    assert.equal(landed.length, 2); // the repository's first commit and the push
    await retryJob(db.prisma, dispatcher, teamId, lost.id);
    const retried = await db.prisma.job.findUniqueOrThrow({ where: { id: lost.id } });
    assert.equal(retried.state, "succeeded", retried.reason ?? "");
    assert.equal(result(retried).committed, false);
    assert.equal(result(retried).commit, landed[1]!.commit);
    assert.equal(landed.length, 2);
  });

  it("refuses a license without derivatives and a wrong token, creating nothing", async () => {
    const bad = await push("team/other", "bad");
    assert.equal(bad.state, "failed");
    assert.equal(bad.errorCode, "hub_unauthorized", bad.reason ?? "");
    assert.ok(!bad.reason!.includes("hf_nope"));
    assert.ok(!hub.repos.has("team/other"));
    await assert.rejects(
      pushRefusal(db.prisma, teamId, pruned, { repo: "team/other", private: true, tokenSecret: "nope" }),
      /no team secret "nope"/,
    );
    const base = await db.prisma.model.findFirstOrThrow({ where: { name: "tiny-hub" } });
    await db.prisma.model.update({ where: { id: base.id }, data: { license: "cc-by-nc-nd-4.0" } });
    try {
      await assert.rejects(
        pushRefusal(db.prisma, teamId, pruned, { repo: "team/other", private: true, tokenSecret: "hf" }),
        /license cc-by-nc-nd-4.0 allows no derivatives/,
      );
      // A job submitted anyway checks again.
      const refused = await push("team/other");
      assert.equal(refused.state, "failed");
      assert.match(refused.reason ?? "", /license cc-by-nc-nd-4.0 allows no derivatives/);
      assert.ok(!hub.repos.has("team/other"));
    } finally {
      await db.prisma.model.update({ where: { id: base.id }, data: { license: "apache-2.0" } });
    }
  });
});

function totalBytes(files: Map<string, Buffer>, names: string[]): number {
  return names.reduce((s, n) => s + files.get(n)!.length, 0);
}
