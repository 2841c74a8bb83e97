// Bad input to `retrain` / `merge` is a one-line error with exit code 2, before any compute, writing nothing.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "./helpers/cli.js";

const fixtures = fileURLToPath(new URL("../packages/engine/src/fixtures/train/", import.meta.url));
const demo = fileURLToPath(new URL("../models/tinystories-llama-8L", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "retrain-bad-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const ids = file(
  "ids.json",
  JSON.stringify({
    batch: [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ],
  }),
);

function expectUserError(args: string[], pattern: RegExp) {
  const out = join(tmp, `out-${Math.random().toString(36).slice(2)}`);
  const r = runCli([...args, "--out", out, "--json"]);
  assert.equal(r.code, 2, `exit code ${r.code}, stderr: ${r.stderr}`);
  assert.match(r.stderr.trim(), pattern);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.equal(r.stdout, "");
  assert.ok(!existsSync(out), "nothing is written");
}

test("malformed instruction JSON, an item without output, an empty dataset", () => {
  expectUserError(
    ["retrain", "lora", "--model", demo, "--data", file("bad.json", '[{"instruction": "x",')],
    /not valid JSON/,
  );
  expectUserError(
    ["retrain", "lora", "--model", demo, "--data", file("noout.json", '[{"instruction": "x"}]')],
    /missing "output"/,
  );
  expectUserError(["retrain", "lora", "--model", demo, "--data", file("empty.json", "[]")], /empty/);
  expectUserError(
    ["retrain", "cpt", "--model", demo, "--ids", file("empty-ids.json", '{"batch": []}')],
    /empty/,
  );
  expectUserError(
    ["retrain", "cpt", "--model", demo, "--data", file("short.txt", "Once")],
    /fewer than one row/,
  );
});

test("r above a layer's width, an unknown target, an adapter that does not fit", () => {
  const llama = join(fixtures, "llama");
  expectUserError(["retrain", "lora", "--model", llama, "--ids", ids, "--r", "40"], /exceeds the width/);
  expectUserError(
    ["retrain", "lora", "--model", llama, "--ids", ids, "--targets", "q_proj,qkv_proj"],
    /unknown LoRA target module "qkv_proj"/,
  );
  const init = join(fixtures, "llama-init-adapter.safetensors");
  expectUserError(
    ["retrain", "lora", "--model", demo, "--ids", ids, "--r", "4", "--init-adapter", init],
    /does not fit the model/,
  );
  expectUserError(
    ["retrain", "lora", "--model", llama, "--ids", ids, "--r", "8", "--init-adapter", init],
    /does not fit the model/,
  );
  expectUserError(["merge", "--model", demo, "--adapter", init, "--alpha", "8"], /does not fit the model/);
});

test("bad options: unknown method, token outside the vocabulary, both --steps and --epochs", () => {
  const llama = join(fixtures, "llama");
  expectUserError(["retrain", "qlora", "--model", llama, "--ids", ids], /method must be one of/);
  expectUserError(
    ["retrain", "cpt", "--model", llama, "--ids", file("oov.json", '{"batch": [[1, 999]]}')],
    /not a token id/,
  );
  expectUserError(
    ["retrain", "cpt", "--model", llama, "--ids", ids, "--steps", "2", "--epochs", "1"],
    /not both/,
  );
  expectUserError(["retrain", "cpt", "--model", llama, "--ids", ids, "--schedule", "step"], /--schedule/);
});
