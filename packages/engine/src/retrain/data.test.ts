// Training data: the alpaca-lora template and label masking, raw text packing, micro-batch padding.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadTokenizer } from "@shortened/hf";
import { alpacaPrompt, alpacaRows, IGNORE, microBatch, packedTextRows } from "./data.js";
import { lrMultiplier } from "./schedule.js";

const demo = fileURLToPath(new URL("../../../../models/tinystories-llama-8L", import.meta.url));

test("alpaca-lora prompt: BOS + prompt + output + EOS; the prompt's labels are -100 unless --train-on-inputs", () => {
  const tmp = mkdtempSync(join(tmpdir(), "alpaca-"));
  try {
    const path = join(tmp, "a.json");
    writeFileSync(
      path,
      JSON.stringify([
        { instruction: "Name a color.", input: "", output: "Blue." },
        { instruction: "Add.", input: "2 and 3", output: "5" },
      ]),
    );
    const tok = loadTokenizer(demo);
    const rows = alpacaRows(path, tok);
    assert.equal(
      alpacaPrompt("Add.", "2 and 3"),
      `Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n2 and 3\n\n### Response:\n`,
    );
    const full = tok.encode(alpacaPrompt("Name a color.", "", "Blue."), { addSpecialTokens: true });
    const promptLen = tok.encode(alpacaPrompt("Name a color."), { addSpecialTokens: true }).length;
    assert.equal(full[0], tok.bosId);
    assert.deepEqual(rows.ids[0], [...full, tok.eosId]);
    assert.ok(rows.labels[0]!.slice(0, promptLen).every((t) => t === IGNORE));
    assert.deepEqual(rows.labels[0]!.slice(promptLen), rows.ids[0]!.slice(promptLen));
    const all = alpacaRows(path, tok, { trainOnInputs: true });
    assert.deepEqual(all.labels[1], all.ids[1]);
    const cut = alpacaRows(path, tok, { maxLen: 8, trainOnInputs: true });
    assert.equal(cut.ids[0]!.length, 8);
    assert.throws(() => alpacaRows(path, tok, { maxLen: 8 }), /no row has a label to learn/);
    // A cut that keeps the short example's response but removes all of the long one's leaves the long one
    // out (its loss would be 0/0), and counts it.
    const longPrompt = tok.encode(alpacaPrompt("Add.", "2 and 3"), { addSpecialTokens: true }).length;
    assert.ok(promptLen + 1 < longPrompt, "the first prompt is the shorter one");
    const some = alpacaRows(path, tok, { maxLen: promptLen + 1 });
    assert.equal(some.ids.length, 1);
    assert.equal(some.dropped, 1);
    assert.deepEqual(some.ids[0], full.slice(0, promptLen + 1));
    for (const l of some.labels) assert.ok(l.slice(1).some((t) => t !== IGNORE));
    assert.equal(rows.dropped, undefined);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("raw text packs into rows of seqLen tokens (remainder dropped); micro-batches right-pad with ignored labels", () => {
  const tmp = mkdtempSync(join(tmpdir(), "packed-"));
  try {
    const path = join(tmp, "t.txt");
    writeFileSync(
      path,
      "Once upon a time there was a little girl who liked to play in the park with her dog.",
    );
    const tok = loadTokenizer(demo);
    const n = tok.encode(readText(path), { addSpecialTokens: false }).length;
    const rows = packedTextRows(path, tok, 5);
    assert.equal(rows.ids.length, Math.floor(n / 5));
    assert.ok(rows.ids.every((r) => r.length === 5));
    const mb = microBatch(
      {
        ids: [
          [1, 2, 3],
          [4, 5],
        ],
        labels: [
          [1, 2, 3],
          [4, IGNORE],
        ],
        source: "x",
      },
      [0, 1],
      0,
    );
    assert.deepEqual(Array.from(mb.ids, Number), [1, 2, 3, 4, 5, 0]);
    assert.deepEqual(Array.from(mb.targets, Number), [2, 3, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(mb.mask), [1, 1, 0, 0, 0, 0]);
    assert.equal(mb.valid, 2);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("schedules as transformers: linear with warm-up (step 0 at lr 0), cosine, constant", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 9].map((s) => lrMultiplier("linear", s, 2, 10)),
    [0, 0.5, 1, 7 / 8, 1 / 8],
  );
  assert.equal(lrMultiplier("cosine", 2, 2, 10), 1);
  assert.ok(Math.abs(lrMultiplier("cosine", 6, 2, 10) - 0.5) < 1e-15);
  assert.deepEqual(
    [0, 1, 5].map((s) => lrMultiplier("constant", s, 2, 10)),
    [0, 0.5, 1],
  );
});

function readText(p: string): string {
  return readFileSync(p, "utf8");
}
