// `shortened models register NAME --uri hf://org/name@revision` in embedded mode against the loopback
// stand-in of the Hub (HF_ENDPOINT, HF_TOKEN): registered at the commit; a refusal exits 2 with one line.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HubStandIn } from "@shortened/adapters/test-support/hub-stand-in";
import { runCliAsync as cli } from "./helpers/cli.js";
import { demoDir } from "./helpers/teams-app.js";

// A guard against a hang, not a speed goal: three CLI processes, each starting tsx and PGlite, took more than the
// earlier 120 s at load 22–36 on 2 cores.
describe("models register --uri hf:// (embedded)", { timeout: 600_000 }, () => {
  const hub = new HubStandIn();
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let commit = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "hub-cli-"));
    env = { HF_ENDPOINT: await hub.start(), HF_TOKEN: "hf_cli", SHORTENED_HOME: join(dir, "state") };
    hub.tokens.add("hf_cli");
    const files = Object.fromEntries(
      readdirSync(demoDir)
        .filter((f) => f !== "PROVENANCE.md")
        .map((f) => [f, readFileSync(join(demoDir, f))]),
    );
    commit = hub.addRepo("acme/tiny", files, { private: true });
  });
  after(async () => {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers at the commit with the token from HF_TOKEN", async () => {
    const r = await cli(["models", "register", "tiny", "--uri", "hf://acme/tiny@main", "--json"], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.sourceUri, `hf://acme/tiny@${commit}`);
    assert.equal(out.latestVersion.recipe.hub.tokenFromEnv, true);
    assert.ok(!r.stdout.includes("hf_cli") && !r.stderr.includes("hf_cli"));
  });

  it("a wrong token and a missing revision: exit 2 with one line", async () => {
    let r = await cli(["models", "register", "t2", "--uri", "hf://acme/tiny", "--json"], {
      ...env,
      HF_TOKEN: "hf_bad",
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), /^[^\n]*the Hub refused the token in \$HF_TOKEN .*wrong or revoked$/);
    r = await cli(["models", "register", "t3", "--uri", "hf://acme/tiny@nope", "--json"], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), /^[^\n]*hf:\/\/acme\/tiny@nope: no such repository, revision or file/);
  });
});
