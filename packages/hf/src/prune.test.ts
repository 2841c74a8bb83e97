import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { Checkpoint } from "./checkpoint.js";
import { pruneCheckpoint } from "./prune.js";
import { prunedConfig, selectBlocks } from "./prune-plan.js";

const demo = new URL("../../../models/tinystories-llama-8L", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "hf-prune-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function rejectsUser(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => isUserError(e) && e.code === code && re.test(e.message));
}

describe("block selection and config", () => {
  test("kept blocks in order, removed sorted", () => {
    assert.deepEqual(selectBlocks([7, 3, 0], 8), { removed: [0, 3, 7], kept: [1, 2, 4, 5, 6] });
  });
  test("bad indices", () => {
    const bad = (remove: number[], re: RegExp) =>
      assert.throws(
        () => selectBlocks(remove, 4),
        (e: unknown) => isUserError(e) && re.test(e.message),
      );
    bad([4], /block index 4 is out of range: the model has blocks 0..3/);
    bad([-1], /block index -1 is out of range/);
    bad([1.5], /out of range/);
    bad([1, 1], /block index 1 is listed twice/);
    bad([0, 1, 2, 3], /cannot remove every block/);
    bad([], /no blocks to remove/);
  });
  test("num_hidden_layers and per-block lists follow the kept blocks; other keys untouched", () => {
    const raw = {
      num_hidden_layers: 4,
      layer_types: ["a", "b", "c", "d"],
      max_window_layers: 28,
      eos_token_id: [1, 2, 3, 4],
    };
    assert.deepEqual(prunedConfig(raw, [0, 2], 4), {
      num_hidden_layers: 2,
      layer_types: ["a", "c"],
      max_window_layers: 28,
      eos_token_id: [1, 2, 3, 4],
    });
  });
});

describe("pruneCheckpoint", () => {
  test("writes a renumbered checkpoint and a pruning record; chains records", async () => {
    const out = join(work, "p1");
    const progress: number[] = [];
    const r = await pruneCheckpoint({
      model: demo,
      remove: [6, 2],
      out,
      criterion: "ppl",
      scores: [59.19, 36.41, 14.79, 11.91, 12.35, 12.5, 10.76, 10.06],
      onProgress: (done, total) => progress.push(done / total),
    });
    assert.deepEqual(r, {
      removed: [2, 6],
      kept: [0, 1, 3, 4, 5, 7],
      numHiddenLayers: 6,
      out,
      criterion: "ppl",
      warnings: [],
    });
    assert.equal(progress.at(-1), 1);
    const src = Checkpoint.open(demo);
    const dst = Checkpoint.open(out);
    assert.equal(dst.config.numHiddenLayers, 6);
    assert.deepEqual(
      dst.readBytes("model.layers.2.self_attn.q_proj.weight"),
      src.readBytes("model.layers.3.self_attn.q_proj.weight"),
    );
    assert.deepEqual(
      dst.readBytes("model.layers.5.mlp.down_proj.weight"),
      src.readBytes("model.layers.7.mlp.down_proj.weight"),
    );
    const rec = JSON.parse(readFileSync(join(out, "pruning.json"), "utf8"));
    assert.equal(rec.source_model, demo.replace(/\/$/, ""));
    assert.deepEqual(
      [rec.removed_layers, rec.kept_layers, rec.criterion],
      [[2, 6], [0, 1, 3, 4, 5, 7], "ppl"],
    );
    assert.equal(rec.scores.length, 8);
    assert.ok(rec.software.version && !Number.isNaN(Date.parse(rec.created_at)));

    const out2 = join(work, "p2");
    await pruneCheckpoint({ model: out, remove: [0], out: out2 });
    const rec2 = JSON.parse(readFileSync(join(out2, "pruning.json"), "utf8"));
    assert.deepEqual(rec2.removed_layers, [0]);
    assert.deepEqual(rec2.previous.removed_layers, [2, 6]);
  });

  test("an existing --out needs force; force replaces it whole", async () => {
    const out = join(work, "existing");
    mkdirSync(out);
    writeFileSync(join(out, "keep.txt"), "old");
    await rejectsUser(
      pruneCheckpoint({ model: demo, remove: [1], out }),
      "output_exists",
      /already exists \(pass --force/,
    );
    assert.deepEqual(readdirSync(out), ["keep.txt"]);
    await pruneCheckpoint({ model: demo, remove: [1], out, force: true });
    assert.ok(!existsSync(join(out, "keep.txt")));
    assert.equal(Checkpoint.open(out).config.numHiddenLayers, 7);
    assert.deepEqual(
      readdirSync(work).filter((f) => f.startsWith(".")),
      [],
    );
  });

  test("--out may not be or lie inside the model folder", async () => {
    await rejectsUser(
      pruneCheckpoint({ model: demo, remove: [1], out: demo, force: true }),
      "bad_request",
      /must not be/,
    );
    await rejectsUser(
      pruneCheckpoint({ model: demo, remove: [1], out: join(demo, "sub") }),
      "bad_request",
      /must not be/,
    );
  });

  test("a failure while writing leaves neither --out nor a temporary folder", async () => {
    const parent = join(work, "failing");
    mkdirSync(parent);
    const out = join(parent, "out");
    const boom = pruneCheckpoint({
      model: demo,
      remove: [1],
      out,
      onProgress: (done) => {
        if (done > 0) throw new Error("disk full (simulated)");
      },
    });
    await assert.rejects(boom, /disk full/);
    assert.deepEqual(readdirSync(parent), []);
  });

  test("scores must match the number of blocks", async () => {
    await rejectsUser(
      pruneCheckpoint({ model: demo, remove: [1], out: join(work, "s"), scores: [1, 2] }),
      "bad_request",
      /2 scores given for 8 blocks/,
    );
  });
});
