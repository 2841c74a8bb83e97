// `shortened prune` with bad block lists or a bad --out: exit 2, one clear line, --out untouched.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { scratchDir, singleFileModel } from "./helpers/bad-checkpoints.js";
import { runCli } from "./helpers/cli.js";

const work = scratchDir("cli-prune-bad-args-");
after(() => rmSync(work, { recursive: true, force: true }));

function expectBadInput(args: string[], out: string, message: RegExp): void {
  const r = runCli(["prune", "--model", singleFileModel, "--out", out, ...args]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr.trim(), message);
  assert.equal(r.stderr.trim().split("\n").length, 1);
}

describe("prune rejects bad block lists (the model has blocks 0..3)", () => {
  const cases: [string, string[], RegExp][] = [
    [
      "out of range",
      ["--remove", "1,4"],
      /^error: block index 4 is out of range: the model has blocks 0\.\.3$/,
    ],
    ["negative", ["--remove", "-1"], /^error: block index -1 is out of range/],
    ["duplicate", ["--remove", "2,1,2"], /^error: block index 2 is listed twice$/],
    [
      "every block",
      ["--remove", "0,1,2,3", "--json"],
      /^error: cannot remove every block: the model has only 4$/,
    ],
    [
      "not a list",
      ["--remove", "1;2"],
      /^error: --remove must be a comma-separated list of block indices \(got "1;2"\)$/,
    ],
    ["no --remove", [], /^error: give the blocks to remove with --remove/],
  ];
  for (const [name, args, message] of cases) {
    test(name, () => {
      const out = join(work, name.replaceAll(" ", "-"));
      expectBadInput(args, out, message);
      assert.equal(existsSync(out), false);
    });
  }
});

describe("prune protects existing folders", () => {
  test("an existing --out without --force is left as it was", () => {
    const out = join(work, "existing");
    mkdirSync(out);
    writeFileSync(join(out, "precious.txt"), "keep me");
    expectBadInput(
      ["--remove", "1"],
      out,
      /^error: --out .*existing already exists \(pass --force to replace it\)$/,
    );
    assert.deepEqual(readdirSync(out), ["precious.txt"]);
    assert.equal(readFileSync(join(out, "precious.txt"), "utf8"), "keep me");
  });
  test("--out equal to --model is refused even with --force", () => {
    expectBadInput(
      ["--remove", "1", "--force"],
      singleFileModel,
      /^error: --out .* must not be, contain or lie inside the input folder/,
    );
    assert.ok(existsSync(join(singleFileModel, "model.safetensors")));
  });
});
