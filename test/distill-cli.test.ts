// `shortened retrain cpt|lora --distill-from DIR` end to end, on the oracle's kd-train fixtures
// (packages/engine/src/fixtures/kd): the objective, its KD and CE parts per step as the oracle's; a teacher
// with another vocabulary refused with exit 2; and a distilled LoRA run SIGKILLed mid-run then restarted ends
// with the bytes of an uninterrupted one.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { jsonOf, runCli } from "./helpers/cli.js";
import { killAfterFirstState } from "./helpers/kill-after-state.js";

const kd = fileURLToPath(new URL("../packages/engine/src/fixtures/kd/", import.meta.url));
const demo = fileURLToPath(new URL("../models/tinystories-llama-8L", import.meta.url));
const f = JSON.parse(readFileSync(join(kd, "kd.json"), "utf8"));
const tmp = mkdtempSync(join(tmpdir(), "distill-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ids = join(tmp, "train.json");
writeFileSync(ids, JSON.stringify(f.train));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test("retrain cpt --distill-from: losses, KD and CE per step as the oracle's kd-train", () => {
  const c = f.cases.full.options;
  const r = jsonOf(
    runCli([
      "retrain",
      "cpt",
      "--model",
      join(kd, "student"),
      "--ids",
      ids,
      "--out",
      join(tmp, "cpt"),
      "--distill-from",
      join(kd, "teacher"),
      "--kd-alpha",
      String(c.alpha),
      "--temperature",
      String(c.tau),
      ...["--steps", String(c.steps), "--batch", String(c.batch), "--grad-accum", String(c.grad_accum)],
      ...["--lr", String(c.lr), "--warmup", String(c.warmup), "--schedule", c.schedule],
      ...["--weight-decay", String(c.weight_decay), "--max-grad-norm", String(c.max_grad_norm)],
      ...["--threads", "1", "--json"],
    ]),
  );
  for (const [ours, theirs] of [
    ["losses", "losses"],
    ["kdLosses", "kd_losses"],
    ["ceLosses", "ce_losses"],
  ]) {
    r[ours!].forEach((x: number, s: number) => {
      assert.ok(rel(x, f.cases.full[theirs!][s]) < 1e-4, `${ours} step ${s}: ${x}`);
    });
  }
  const curve = JSON.parse(readFileSync(join(tmp, "cpt", "training_curve.json"), "utf8"));
  assert.equal(curve.steps[0].kdLoss, r.kdLosses[0]);
  assert.equal(curve.steps[0].ceLoss, r.ceLosses[0]);
});

test("retrain --distill-from a teacher with another vocabulary exits 2 with the reason", () => {
  const r = runCli([
    "retrain",
    "cpt",
    "--model",
    join(kd, "student"),
    "--ids",
    ids,
    "--out",
    join(tmp, "refused"),
    "--distill-from",
    demo,
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /vocabulary of 512 tokens and the student 256/);
  assert.ok(!existsSync(join(tmp, "refused")));
});

test("retrain lora --distill-from --top-k: SIGKILL mid-run, restart, same adapter bytes", async () => {
  const base = ["retrain", "lora", "--model", join(kd, "student"), "--ids", ids];
  const opts = [
    ...["--distill-from", join(kd, "teacher"), "--kd-alpha", "0.7", "--temperature", "2", "--top-k", "16"],
    ...["--steps", "12", "--batch", "2", "--lr", "5e-3", "--r", "4", "--threads", "1", "--json"],
  ];
  const straight = jsonOf(runCli([...base, "--out", join(tmp, "a"), ...opts]));
  const killedOut = join(tmp, "b");
  const resumeArgs = [...base, "--out", killedOut, ...opts, "--checkpoint-every", "2"];
  await killAfterFirstState(resumeArgs, join(`${killedOut}.train-state`, "lora"));
  const resumed = jsonOf(runCli(resumeArgs));
  assert.ok(resumed.resumedFrom > 0 && resumed.resumedFrom < 12, `resumed from ${resumed.resumedFrom}`);
  assert.deepEqual(resumed.losses, straight.losses);
  assert.deepEqual(resumed.kdLosses, straight.kdLosses);
  assert.deepEqual(resumed.ceLosses, straight.ceLosses);
  const file = "adapter_model.safetensors";
  assert.ok(
    readFileSync(join(killedOut, file)).equals(readFileSync(join(tmp, "a", file))),
    `${file} differs`,
  );
});
