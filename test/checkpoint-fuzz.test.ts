// The malformed-checkpoint fuzzer, bounded for CI: a sample spanning every mutation family (config values and
// files, safetensors headers, tensor layout, data section, shard index) tried through registration by upload
// (4xx with the error shape, nothing stored) and a smaller one through the CLI (exit 2, one line, nothing
// written). bench/checkpoint-fuzz.ts runs every case both ways; its figures are in README "Reliability".
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { Checkpoint } from "@shortened/hf";
import { scratchDir, singleFileModel } from "./helpers/bad-checkpoints.js";
import { CLI_COMMANDS, tryCli, tryUpload } from "./helpers/checkpoint-fuzz.js";
import { buildCase, MALFORMED_CHECKPOINTS, sampleCases } from "./helpers/checkpoint-mutations.js";
import { startTeamsRig, type TeamsRig } from "./helpers/teams-app.js";

const work = scratchDir("checkpoint-fuzz-");
after(() => rmSync(work, { recursive: true, force: true }));

describe("malformed checkpoints", () => {
  test("the generator makes at least 300 distinct cases over every family, each refused at open", () => {
    assert.ok(MALFORMED_CHECKPOINTS.length >= 300, `${MALFORMED_CHECKPOINTS.length} cases`);
    assert.equal(new Set(MALFORMED_CHECKPOINTS.map((c) => c.id)).size, MALFORMED_CHECKPOINTS.length);
    assert.deepEqual([...new Set(MALFORMED_CHECKPOINTS.map((c) => c.family))].sort(), [
      "config",
      "data",
      "files",
      "header",
      "index",
      "layout",
    ]);
    // in-process, every case: the cheap check that the list holds no harmless mutation
    const accepted: string[] = [];
    for (const c of MALFORMED_CHECKPOINTS) {
      const dir = buildCase(c, join(work, "open"));
      try {
        Checkpoint.open(dir);
        accepted.push(c.id);
      } catch (e) {
        if (!isUserError(e)) accepted.push(`${c.id} (${(e as Error).message})`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(accepted, []);
  });

  describe("through registration by upload", () => {
    let rig: TeamsRig;
    before(async () => {
      rig = await startTeamsRig();
    });
    after(() => rig?.close());
    test("control: the unmutated model registers through the same upload (201)", async () => {
      const tar = execFileSync("tar", ["-cf", "-", "-C", singleFileModel, "."]);
      const res = await fetch(`${rig.url}/v1/models/upload?name=fuzz-control`, {
        method: "POST",
        headers: { authorization: `Bearer ${rig.a.member}`, "content-type": "application/x-tar" },
        body: tar,
      });
      assert.equal(res.status, 201, await res.text());
    });
    const sample = sampleCases(6);
    test(`${sample.length} cases: 4xx with the error shape, nothing stored`, async () => {
      const unclean: string[] = [];
      for (const c of sample) {
        const dir = buildCase(c, join(work, "upload"));
        const o = await tryUpload(rig, dir, `fuzz-${c.id}`.slice(0, 100));
        if (!o.clean) unclean.push(`${c.id}: ${o.detail}`);
        rmSync(dir, { recursive: true, force: true });
      }
      assert.deepEqual(unclean, []);
      // the rig's own model still registers and lists: nothing was disturbed
      assert.equal(
        (await rig.call("GET", `/v1/models/${rig.model.name}`, { key: rig.a.member })).status,
        200,
      );
    });
  });

  const cliSample = sampleCases(45, 7);
  test(`${cliSample.length} cases through the CLI (inspect, prune, eval ppl): exit 2, one line, nothing written`, () => {
    const unclean: string[] = [];
    cliSample.forEach((c, i) => {
      const caseWork = join(work, `cli-${i}`);
      mkdirSync(caseWork);
      const dir = buildCase(c, caseWork);
      const o = tryCli(dir, CLI_COMMANDS[i % CLI_COMMANDS.length]!, caseWork);
      if (!o.clean) unclean.push(`${c.id}: ${o.detail}`);
    });
    assert.deepEqual(unclean, []);
  });
});
