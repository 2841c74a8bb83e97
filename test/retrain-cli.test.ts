// The gradient commands end to end: importance --criterion taylor, retrain cpt+lora (with --merge), retrain
// lora on Alpaca data, and merge.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { jsonOf, runCli } from "./helpers/cli.js";

const fixtures = fileURLToPath(new URL("../packages/engine/src/fixtures/train/", import.meta.url));
const demo = fileURLToPath(new URL("../models/tinystories-llama-8L", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "retrain-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const llama = JSON.parse(readFileSync(join(fixtures, "llama.json"), "utf8"));

test("importance --criterion taylor matches the oracle's block scores and order", () => {
  const calib = join(tmp, "calib.json");
  writeFileSync(calib, JSON.stringify({ batch: llama.calib }));
  const r = jsonOf(
    runCli([
      "importance",
      "--model",
      join(fixtures, "llama"),
      "--criterion",
      "taylor",
      "--calib-ids",
      calib,
      "--batch-size",
      "4",
      "--json",
    ]),
  );
  assert.equal(r.criterion, "taylor");
  r.scores.forEach((s: number, i: number) => {
    assert.ok(Math.abs(s - llama.taylor.block_scores[i]) < 1e-3 * llama.taylor.block_scores[i]);
  });
  assert.deepEqual(r.order, llama.taylor.block_order);
  assert.equal(r.batchLosses.length, 2);
});

test("retrain cpt+lora writes the CPT model and the adapter trained on it, with the merged model", () => {
  const ids = join(tmp, "train.json");
  writeFileSync(ids, JSON.stringify(llama.train));
  const out = join(tmp, "chain");
  const r = jsonOf(
    runCli([
      "retrain",
      "cpt+lora",
      "--model",
      join(fixtures, "llama"),
      "--ids",
      ids,
      "--out",
      out,
      "--steps",
      "3",
      "--batch",
      "2",
      "--r",
      "4",
      "--lr",
      "1e-3",
      "--merge",
      "--json",
    ]),
  );
  assert.equal(r.losses.length, 3);
  assert.equal(r.cptLosses.length, 3);
  for (const p of [
    "cpt/model.safetensors",
    "cpt/training_curve.svg",
    "lora/adapter_config.json",
    "lora/adapter_model.safetensors",
    "lora/merged/model.safetensors",
  ]) {
    assert.ok(existsSync(join(out, p)), p);
  }
  const merged = jsonOf(
    runCli([
      "merge",
      "--model",
      join(out, "cpt"),
      "--adapter",
      join(out, "lora"),
      "--out",
      join(tmp, "merged"),
      "--json",
    ]),
  );
  assert.equal(merged.r, 4);
  assert.ok(
    readFileSync(join(tmp, "merged", "model.safetensors")).equals(
      readFileSync(join(out, "lora/merged/model.safetensors")),
    ),
  );
});

test("retrain lora on Alpaca data with the demo model's tokenizer", () => {
  const data = join(tmp, "alpaca.json");
  writeFileSync(
    data,
    JSON.stringify([
      { instruction: "Tell a short story.", input: "", output: "Once upon a time there was a cat." },
      { instruction: "Finish the sentence.", input: "The dog", output: "ran to the park." },
    ]),
  );
  const r = jsonOf(
    runCli([
      "retrain",
      "lora",
      "--model",
      demo,
      "--data",
      data,
      "--out",
      join(tmp, "alpaca-out"),
      "--epochs",
      "2",
      "--batch",
      "2",
      "--json",
    ]),
  );
  assert.equal(r.losses.length, 2);
  assert.ok(r.losses.every((l: number) => Number.isFinite(l) && l > 0));
  const cfg = JSON.parse(readFileSync(join(tmp, "alpaca-out", "adapter_config.json"), "utf8"));
  assert.equal(cfg.peft_type, "LORA");
  assert.equal(cfg.r, 8);
});

test("retrain lora --dtype float16 --memory-budget: the frozen base in float16, the plan says so; cpt refuses float16", () => {
  const ids = join(tmp, "train-f16.json");
  writeFileSync(ids, JSON.stringify(llama.train));
  const args = [
    "--model",
    join(fixtures, "llama"),
    "--ids",
    ids,
    "--steps",
    "2",
    "--batch",
    "2",
    "--dtype",
    "float16",
  ];
  const r = jsonOf(
    runCli(["retrain", "lora", ...args, "--out", join(tmp, "lora-f16"), "--memory-budget", "2G", "--json"]),
  );
  assert.equal(r.losses.length, 2);
  assert.ok(r.losses.every((l: number) => Number.isFinite(l)));
  const cpt = runCli(["retrain", "cpt", ...args, "--out", join(tmp, "cpt-f16")]);
  assert.equal(cpt.code, 2);
  assert.match(cpt.stderr, /CPT computes in float32 \(--dtype float16 applies to LoRA/);
  const tight = runCli([
    "retrain",
    "lora",
    ...args,
    "--out",
    join(tmp, "lora-tight"),
    "--memory-budget",
    "1M",
  ]);
  assert.equal(tight.code, 2);
  assert.match(tight.stderr, /does not fit|needs about/);
});
