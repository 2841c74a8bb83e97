import assert from "node:assert/strict";
import { test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { loadEvalText, ptbRows } from "./datasets.js";

test("wikitext2 is the shipped HF-joined test string, checked by its sha256", () => {
  const d = loadEvalText("wikitext2");
  assert.equal(d.fileSha256, "696cca6b65a171b0a358a4be6732cdfdf2dd6164a32e20fd70e3c13fc4dfae83");
  assert.equal(d.split, "test");
  assert.equal(d.text.length, 1_294_336); // characters, as shared/data/README.md states
  assert.ok(d.text.startsWith("\n\n = Robert Boulter = \n")); // the first HF row is empty
});

test("ptb joins the validation lines as the HF loader yields them (line.strip()) with blank lines", () => {
  const d = loadEvalText("ptb");
  assert.equal(d.fileSha256, "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2");
  assert.equal(d.split, "validation");
  const rows = d.text.split("\n\n");
  assert.equal(rows.length, 3370);
  assert.ok(rows.every((r) => r === r.trim() && r.length > 0));
  assert.deepEqual(ptbRows(" a b \n c\n"), ["a b", "c"]);
});

test("an unknown dataset is a UserError", () => {
  assert.throws(
    () => loadEvalText("c4"),
    (e) => isUserError(e) && /unknown dataset/.test((e as Error).message),
  );
});
