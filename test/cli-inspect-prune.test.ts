// `shortened inspect` and `shortened prune` on the shipped demo model and a sharded fixture.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { scratchDir, shardedModel } from "./helpers/bad-checkpoints.js";
import { jsonOf, repoRoot, runCli } from "./helpers/cli.js";

const demo = join(repoRoot, "models/tinystories-llama-8L");
const work = scratchDir("cli-inspect-prune-");
after(() => rmSync(work, { recursive: true, force: true }));

test("inspect --json describes the demo model", () => {
  const r = jsonOf(runCli(["inspect", "--model", demo, "--json"]));
  assert.equal(r.architecture, "LlamaForCausalLM");
  assert.equal(r.modelType, "llama");
  assert.equal(r.numHiddenLayers, 8);
  assert.equal(r.parameters, 396_352);
  assert.equal(r.dtype, "F32");
  assert.equal(r.tensorBytes, 429_120 * 4);
  assert.equal(r.fileBytes, 1_724_272);
  assert.deepEqual(
    [r.hiddenSize, r.numAttentionHeads, r.numKeyValueHeads, r.vocabSize, r.tieWordEmbeddings],
    [64, 8, 4, 512, true],
  );
});

test("inspect (human) prints a summary", () => {
  const r = runCli(["inspect", "--model", demo]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /architecture\s+LlamaForCausalLM/);
  assert.match(r.stdout, /blocks\s+8/);
  assert.match(r.stdout, /parameters\s+396,352/);
});

test("prune --json prints the sorted removed blocks, the new block count and --out", () => {
  const out = join(work, "demo-pruned");
  const r = jsonOf(runCli(["prune", "--model", demo, "--remove", "6,2,4", "--out", out, "--json"]));
  assert.deepEqual(r.removed, [2, 4, 6]);
  assert.equal(r.numHiddenLayers, 5);
  assert.equal(r.out, out);
  const after = jsonOf(runCli(["inspect", "--model", out, "--json"]));
  assert.equal(after.numHiddenLayers, 5);
  assert.deepEqual(after.prunedFrom, { sourceNumHiddenLayers: 8, removed: [2, 4, 6], criterion: null });
  assert.ok(readdirSync(out).includes("tokenizer.json"));
  // --force replaces the folder
  const again = jsonOf(
    runCli(["prune", "--model", demo, "--remove", "0", "--out", out, "--force", "--json"]),
  );
  assert.equal(again.numHiddenLayers, 7);
});

test("prune keeps a sharded checkpoint sharded with a correct index", () => {
  const out = join(work, "sharded-pruned");
  const r = runCli(["prune", "--model", shardedModel, "--remove", "3", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /removed blocks 3 of 4: 3 blocks left/);
  const index = JSON.parse(readFileSync(join(out, "model.safetensors.index.json"), "utf8"));
  assert.deepEqual([...new Set(Object.values(index.weight_map))].sort(), [
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
  ]);
  assert.ok(!Object.keys(index.weight_map).some((n) => n.startsWith("model.layers.3.")));
});
