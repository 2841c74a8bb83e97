// Bad input is a UserError raised before any compute (issue: the forward engine, point 6).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { modelDir, rejectsWithUserError } from "../test-support/engine-fixtures.js";
import { perplexity } from "./perplexity.js";

const model = modelDir("llama-gqa"); // vocab 128, max_position_embeddings 2048
const rejects = rejectsWithUserError;

test("perplexity rejects ids outside the vocabulary, an empty text, a too long seqLen, unknown BOS", async (t) => {
  await rejects(perplexity({ model, ids: [1, 2, 128, 3], seqLen: 2 }), /outside the vocabulary/);
  await rejects(perplexity({ model, ids: [1, -1], seqLen: 2 }), /outside the vocabulary/);
  const dir = mkdtempSync(join(tmpdir(), "engine-bad-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "empty.txt"), "  \n\n ");
  await rejects(perplexity({ model, textFile: join(dir, "empty.txt") }), /empty/);
  await rejects(perplexity({ model, ids: [1, 2, 3], seqLen: 4096 }), /max_position_embeddings/);
  await rejects(perplexity({ model, ids: [1, 2, 3], seqLen: 8 }), /fewer than one window/);
  await rejects(perplexity({ model, ids: [1, 2, 3], bos: "sometimes" as "first" }), /`bos`/);
  await rejects(perplexity({ model, dataset: "imagenet" }), /unknown dataset/);
  await rejects(perplexity({ model: join(dir, "nope"), ids: [1, 2] }), /does not exist/);
});
