// `shortened retrain partial` end to end: the retrain job's handler through FolderRun writes the bytes the
// engine's trainCpt({partial}) writes for the same rows and settings (the same losses), trains only the last
// blocks, the final norm and the head (everything else bit for bit), and bad part flags exit 2 with one line.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { trainCpt } from "@shortened/engine";
import { Checkpoint } from "@shortened/hf";
import { jsonOf, runCli } from "./helpers/cli.js";

const kd = fileURLToPath(new URL("../packages/engine/src/fixtures/kd/", import.meta.url));
const student = join(kd, "student");
const f = JSON.parse(readFileSync(join(kd, "kd.json"), "utf8"));
const tmp = mkdtempSync(join(tmpdir(), "partial-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ids = join(tmp, "train.json");
writeFileSync(ids, JSON.stringify(f.train));
const settings = { steps: 3, batch: 2, gradAccum: 1, lr: 1e-3, warmup: 0, maxGradNorm: 1, weightDecay: 0.01 };
const flags = [
  ...["--steps", "3", "--batch", "2", "--grad-accum", "1", "--lr", "1e-3", "--warmup", "0"],
  ...["--schedule", "linear", "--max-grad-norm", "1", "--weight-decay", "0.01", "--threads", "1"],
];

test("retrain partial --last-blocks 1: the engine's partial run, byte for byte; frozen tensors unchanged", async () => {
  const out = join(tmp, "partial");
  const r = jsonOf(
    runCli([
      "retrain",
      "partial",
      "--model",
      student,
      "--ids",
      ids,
      "--out",
      out,
      "--last-blocks",
      "1",
      ...flags,
      "--json",
    ]),
  );
  assert.equal(r.method, "partial");
  assert.equal(r.losses.length, 3);
  const direct = await trainCpt({
    ...settings,
    schedule: "linear",
    threads: 1,
    model: student,
    rows: { ids: f.train.batch, labels: f.train.labels, source: "test" },
    out: join(tmp, "direct"),
    partial: { lastBlocks: 1 },
  });
  assert.deepEqual(r.losses, direct.losses);
  assert.deepEqual(r.trained, direct.trained);
  assert.ok(
    readFileSync(join(out, "model.safetensors")).equals(
      readFileSync(join(tmp, "direct", "model.safetensors")),
    ),
    "model.safetensors differs from the engine's",
  );
  assert.ok(existsSync(join(out, "training_curve.json")) && existsSync(join(out, "training_curve.svg")));
  // the student has 3 blocks: block 2, the final norm and the (untied) head train
  assert.ok(r.trained.every((n: string) => /^model\.layers\.2\.|^model\.norm\.|^lm_head\./.test(n)));
  const src = Checkpoint.open(student);
  const got = Checkpoint.open(out);
  for (const name of src.tensors.keys()) {
    const same = Buffer.from(got.readFloat32(name).buffer).equals(Buffer.from(src.readFloat32(name).buffer));
    assert.equal(same, !r.trained.includes(name), name);
  }
});

test("retrain partial --parts trains the named parts only", () => {
  const out = join(tmp, "parts");
  const r = jsonOf(
    runCli([
      "retrain",
      "partial",
      "--model",
      student,
      "--ids",
      ids,
      "--out",
      out,
      "--parts",
      "model.norm,lm_head",
      ...flags,
      "--json",
    ]),
  );
  assert.deepEqual([...r.trained].sort(), ["lm_head.weight", "model.norm.weight"]);
});

test("retrain partial --distill-from --top-k: a distilled partial run (KD and CE per step), only the parts move", () => {
  const out = join(tmp, "distilled");
  const r = jsonOf(
    runCli([
      "retrain",
      "partial",
      "--model",
      student,
      "--ids",
      ids,
      "--out",
      out,
      "--parts",
      "model.layers.2",
      ...["--distill-from", join(kd, "teacher"), "--top-k", "8", "--kd-alpha", "0.5"],
      ...flags,
      "--json",
    ]),
  );
  assert.equal(r.kdLosses.length, 3);
  r.losses.forEach((l: number, s: number) => {
    assert.ok(Math.abs(l - (0.5 * r.kdLosses[s] + 0.5 * r.ceLosses[s])) <= 1e-9 * l);
  });
  assert.equal(r.teacherCache.reused, false);
  assert.ok(r.trained.every((n: string) => n.startsWith("model.layers.2.")));
  const src = Checkpoint.open(student);
  const got = Checkpoint.open(out);
  for (const name of src.tensors.keys()) {
    const same = Buffer.from(got.readFloat32(name).buffer).equals(Buffer.from(src.readFloat32(name).buffer));
    assert.equal(same, !r.trained.includes(name), name);
  }
});

test("bad part flags exit 2 with one line and write nothing", () => {
  const cases: [string[], RegExp][] = [
    [["partial", "--parts", "model.layers.9"], /model\.layers\.9.*names no tensor of this model/],
    [["cpt", "--last-blocks", "1"], /--parts and --last-blocks are for retrain partial/],
    [["partial", "--parts", "lm_head", "--last-blocks", "1"], /--parts or --last-blocks, not both/],
  ];
  for (const [[method, ...rest], message] of cases) {
    const out = join(tmp, `bad-${method}`);
    const r = runCli([
      "retrain",
      method!,
      "--model",
      student,
      "--ids",
      ids,
      "--out",
      out,
      ...rest,
      "--steps",
      "1",
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(!existsSync(out));
  }
});
