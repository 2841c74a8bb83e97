// `shortened generate` and `shortened bench` end to end on the demo model (and a 6-block prune of it).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pruneCheckpoint } from "@shortened/hf";
import { jsonOf, repoRoot, runCli } from "./helpers/cli.js";

const model = join(repoRoot, "models/tinystories-llama-8L");

test("generate --json: greedy continuation of the demo model; sampling is seeded; empty prompt exits 2", () => {
  const greedy = jsonOf(
    runCli([
      "generate",
      "--model",
      model,
      "--prompt",
      "Once upon a time",
      "--max-new-tokens",
      "12",
      "--json",
    ]),
  );
  assert.match(greedy.samples[0].text, /^, there was a little girl named Lily/);
  assert.equal(greedy.samples[0].tokens.length, 12);
  assert.equal(greedy.settings.doSample, false);
  const args = [
    "generate",
    "--model",
    model,
    "--prompt",
    "The dog",
    "--max-new-tokens",
    "16",
    "--top-k",
    "20",
    "--seed",
    "5",
    "--num-samples",
    "2",
    "--json",
  ];
  const [a, b] = [jsonOf(runCli(args)), jsonOf(runCli(args))];
  assert.deepEqual(a.samples, b.samples);
  assert.equal(a.samples.length, 2);
  const empty = runCli(["generate", "--model", model, "--prompt", "", "--json"]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /^error: --prompt is empty/);
});

test("generate --model A --model B: one result per model, each equal to its own run, and columns in text", async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "generate-two-"));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const pruned = join(tmp, "pruned");
  await pruneCheckpoint({ model, remove: [3, 6], out: pruned });
  const args = ["--prompt", "Once upon a time", "--max-new-tokens", "8"];
  const both = jsonOf(runCli(["generate", "--model", model, "--model", pruned, ...args, "--json"]));
  assert.equal(both.models.length, 2);
  for (const [i, dir] of [model, pruned].entries()) {
    const alone = jsonOf(runCli(["generate", "--model", dir, ...args, "--json"]));
    assert.deepEqual(both.models[i].samples, alone.samples);
  }
  assert.notDeepEqual(both.models[0].samples, both.models[1].samples);
  const text = runCli(["generate", "--model", model, "--model", pruned, ...args]);
  assert.equal(text.code, 0, text.stderr);
  // Titles are the model folders (they may wrap in a narrow column); every text line holds both columns.
  assert.match(text.stdout, /tinystories-llama-8L/);
  assert.match(text.stdout, /pruned/);
  assert.ok(
    text.stdout.split("\n").some((l) => / \| .*Once upon a time/.test(l)),
    text.stdout,
  );
  assert.match(text.stdout, /the same settings and seed for every model/);
});

test("bench --json: rows per model and batch size, ratios against the baseline, SVG plot; prune-width", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bench-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pruned = join(dir, "pruned");
  await pruneCheckpoint({ model, remove: [5, 6], out: pruned });
  const plot = join(dir, "bench.svg");
  const r = jsonOf(
    runCli([
      "bench",
      "--model",
      pruned,
      "--baseline",
      model,
      "--batch-sizes",
      "1,2",
      "--input-len",
      "8",
      "--output-len",
      "4",
      "--runs",
      "2",
      "--warmup",
      "0",
      "--threads",
      "1",
      "--no-memory",
      "--plot",
      plot,
      "--json",
    ]),
  );
  assert.deepEqual(
    r.rows.map((x: { label: string; batch: number }) => `${x.label}@${x.batch}`),
    ["baseline@1", "pruned@1", "baseline@2", "pruned@2"],
  );
  for (const row of r.rows) {
    assert.equal(row.latencyRunsS.length, 2);
    assert.ok(row.latencyS.min <= row.latencyS.median && row.latencyS.median <= row.latencyS.max);
    assert.ok(row.tokensPerSecond.min <= (row.batch * 4) / row.latencyS.median, JSON.stringify(row));
    assert.ok((row.batch * 4) / row.latencyS.median <= row.tokensPerSecond.max, JSON.stringify(row));
    assert.equal(row.memory, null);
    assert.ok(row.weightsMb > 0 && row.kvCacheMb > 0);
  }
  assert.equal(r.ratios.length, 2);
  assert.ok(Math.abs(r.ratios[0].flops - r.rows[1].flops / r.rows[0].flops) < 1e-12);
  assert.ok(r.ratios[0].flops < 0.8, String(r.ratios[0].flops));
  assert.match(readFileSync(plot, "utf8"), /^<svg[\s\S]*output tokens\/s[\s\S]*<\/svg>$/);
  const bad = runCli(["bench", "--model", model, "--batch-sizes", "1,x", "--json"]);
  assert.equal(bad.code, 2);
  const width = jsonOf(
    runCli(["prune-width", "--model", model, "--out", join(dir, "width"), "--match-depth", "2", "--json"]),
  );
  assert.deepEqual([width.numAttentionHeads, width.numKeyValueHeads, width.keepRatio], [6, 3, 0.75]);
  const both = runCli([
    "prune-width",
    "--model",
    model,
    "--out",
    join(dir, "w2"),
    "--match-depth",
    "2",
    "--keep-ratio",
    "0.5",
  ]);
  assert.equal(both.code, 2);
});
