// `shortened eval zeroshot` end to end on the demo model: the JSON table, the task files, bad input.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { jsonOf, repoRoot, runCli } from "./helpers/cli.js";

const model = join(repoRoot, "models/tinystories-llama-8L");
const hellaswag = join(repoRoot, "packages/hf/src/tasks/fixtures/hellaswag_val.jsonl");

test("eval zeroshot --json: all seven tasks, the paper's metric per task and the average", () => {
  const all = "arc_easy,arc_challenge,piqa,boolq,winogrande,openbookqa,hellaswag";
  const r = jsonOf(
    runCli([
      "eval",
      "zeroshot",
      "--model",
      model,
      "--tasks",
      all,
      "--limit",
      "3",
      "--task-file",
      `hellaswag=${hellaswag}`,
      "--threads",
      "1",
      "--json",
    ]),
  );
  assert.deepEqual(Object.keys(r.tasks).sort(), all.split(",").sort());
  for (const t of Object.values(r.tasks) as {
    acc: number;
    acc_norm: number | null;
    n: number;
    metric: string;
    value: number;
  }[]) {
    assert.equal(t.n, 3);
    assert.equal(t.value, t.metric === "acc" ? t.acc : t.acc_norm);
  }
  assert.equal(r.tasks.arc_challenge.metric, "acc_norm");
  assert.equal(r.tasks.boolq.acc_norm, null);
  const values = Object.values(r.tasks).map((t) => (t as { value: number }).value);
  assert.ok(Math.abs(r.average - values.reduce((a, b) => a + b, 0) / 7) < 1e-12);
  assert.ok(r.notes.some((n: string) => /boolq: .*no passage/.test(n)));
  assert.equal(r.protocol.harness, "lm-evaluation-harness@3326c54");
  assert.equal(r.items, undefined);
});

test("eval zeroshot without --tasks: the shipped tasks run, HellaSwag (not shipped) is named", () => {
  const r = jsonOf(
    runCli(["eval", "zeroshot", "--model", model, "--limit", "2", "--threads", "1", "--json"]),
  );
  assert.deepEqual(Object.keys(r.tasks).sort(), [
    "arc_challenge",
    "arc_easy",
    "boolq",
    "openbookqa",
    "piqa",
    "winogrande",
  ]);
  assert.deepEqual(r.missingTasks, ["hellaswag"]);
  assert.ok(r.notes.some((n: string) => /^hellaswag \(expected hellaswag_val\.jsonl\): not run/.test(n)));
});

test("eval zeroshot: unknown task, malformed task line, missing HellaSwag data exit 2 with one line", (t) => {
  const unknown = runCli(["eval", "zeroshot", "--model", model, "--tasks", "arc_easy,mmlu", "--json"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: unknown task "mmlu"/);
  const dir = mkdtempSync(join(tmpdir(), "zs-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "piqa_valid.jsonl"), '{"goal":"g","sol1":"a","sol2":"b","label":0}\n{"goal": 3}\n');
  const bad = runCli(["eval", "zeroshot", "--model", model, "--tasks", "piqa", "--data", dir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: piqa_valid\.jsonl line 2: /);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  const missing = runCli(["eval", "zeroshot", "--model", model, "--tasks", "hellaswag"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no data for task hellaswag: expected hellaswag_val\.jsonl/);
});
