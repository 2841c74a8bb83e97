// The side-by-side columns of `shortened generate --model A --model B`: wrapping at words, columns padded to
// one width and joined with " | ", titles and footers in place.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sideBySide, wrap } from "./generate-columns.js";

test("wrap keeps paragraphs, moves words to the next line and cuts words longer than the width", () => {
  assert.deepEqual(wrap("Once upon a time there was", 10), ["Once upon", "a time", "there was"]);
  assert.deepEqual(wrap("a\nb c", 10), ["a", "b c"]);
  assert.deepEqual(wrap("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
});

test("sideBySide: one line per row, every column the same width, the shorter one padded", () => {
  const out = sideBySide(
    [
      { title: "base", text: "Once upon a time there was a girl", footer: "8 new tokens" },
      { title: "pruned", text: "Once upon", footer: "2 new tokens" },
    ],
    12,
  ).split("\n");
  assert.equal(out[0], `${"base".padEnd(12)} | pruned`);
  assert.equal(out[1], `${"-".repeat(12)} | ${"-".repeat(12)}`);
  assert.ok(out.every((l) => l.length <= 12 * 2 + 3));
  assert.ok(out.some((l) => l.startsWith("8 new tokens")));
  assert.ok(out.some((l) => l.endsWith("2 new tokens")));
});
