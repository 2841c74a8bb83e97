// The README's one command, `shortened demo`, in embedded mode (PGlite + a local folder), kept quick
// with --max-tokens.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { jsonOf, runCli } from "./helpers/cli.js";

test("shortened demo prunes 2 blocks, retrains with LoRA and tells the in-domain story: pruning hurts, retraining wins part back", {
  timeout: 180_000,
}, () => {
  const state = mkdtempSync(join(tmpdir(), "shortened-demo-"));
  try {
    const r = jsonOf(runCli(["demo", "--json", "--quiet", "--max-tokens", "2048", "--state-dir", state]));
    assert.equal(r.model.layers, 8);
    assert.equal(r.pruned.removed.length, 2);
    assert.equal(r.pruned.layers, 6);
    assert.deepEqual(r.importance.orderPlus.slice(0, 2).sort(), [...r.pruned.removed].sort());
    const config = JSON.parse(readFileSync(join(r.pruned.folder, "config.json"), "utf8"));
    assert.equal(config.num_hidden_layers, 6);
    assert.ok(existsSync(join(r.pruned.folder, "model.safetensors")));
    for (const side of ["base", "pruned", "retrained"])
      for (const name of ["ppl_tinystories", "ppl_wikitext2", "ppl_ptb"]) {
        const m = r.perplexity[side][name];
        assert.ok(Number.isFinite(m.value) && m.value > 1, `${side} ${name}`);
        assert.equal(m.protocol.maxTokens, 2048);
        assert.equal(m.protocol.seqLen, 128);
      }
    assert.ok(r.jobs.steps.every((s: { state: string }) => s.state === "succeeded"));
    assert.deepEqual(r.jobs.steps.map((s: { kind: string }) => s.kind).sort(), [
      "evaluate",
      "evaluate",
      "evaluate",
      "importance",
      "prune",
      "retrain",
    ]);
    assert.match(r.importance.calibration, /TinyStories/);
    // The in-domain story (held-out TinyStories text): pruning raises perplexity, LoRA on in-domain text wins
    // part of it back, and the reading says so.
    assert.equal(r.inDomain, "tinystories");
    const inDomain = (side: string) => r.perplexity[side].ppl_tinystories.value;
    assert.ok(inDomain("pruned") > inDomain("base"), `${inDomain("base")} -> ${inDomain("pruned")}`);
    assert.ok(
      inDomain("retrained") < inDomain("pruned"),
      `${inDomain("pruned")} -> ${inDomain("retrained")}`,
    );
    assert.match(r.reading, /raised in-domain perplexity .* won back \d+% of the increase/);
    // The second criterion's choice under the same "+" rule, beside PPL's.
    assert.equal(r.secondCriterion.criterion, "magnitude");
    assert.equal(r.secondCriterion.scores.length, 8);
    assert.deepEqual(r.secondCriterion.wouldRemove, r.secondCriterion.orderPlus.slice(0, 2));
    // The short LoRA run learned: its last steps' loss is below its first steps'.
    assert.equal(r.retrained.losses.length, 30);
    assert.ok(
      r.retrained.lossEnd < r.retrained.lossStart,
      `${r.retrained.lossStart} -> ${r.retrained.lossEnd}`,
    );
    const merged = JSON.parse(readFileSync(join(r.retrained.folder, "config.json"), "utf8"));
    assert.equal(merged.num_hidden_layers, 6);
    assert.notEqual(r.perplexity.retrained.ppl_wikitext2.value, r.perplexity.pruned.ppl_wikitext2.value);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
