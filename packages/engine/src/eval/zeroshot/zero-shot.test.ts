// Zero-shot scoring against the float64 oracle (fixtures from scripts/fixtures/zeroshot.sh): for the first 4
// documents of every task file, the request token ids equal the oracle's inputs exactly, loglikelihoods agree
// within 1e-4 and acc / acc_norm agree on every document.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { zeroShotTaskNames } from "@shortened/contracts";
import { encodeItem, loadTask, loadTokenizer, type RequestTokenizer } from "@shortened/hf";
import { zeroShot } from "./zero-shot.js";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here("../../../../../");
const dataDir = `${root}data/zeroshot`;
const hellaswag = `${root}packages/hf/src/tasks/fixtures/hellaswag_val.jsonl`;
const fixtures = here("../../fixtures/zeroshot/");

interface FixtureItem {
  contexts_ids: number[][];
  choices_ids: number[][];
  gold: number;
  lls: number[];
  acc: number;
  acc_norm?: number | null;
}
interface Fixture {
  max_length: number;
  n_docs: number;
  tasks: Record<string, FixtureItem[]>;
}

/** The random fixture model's tokenizer: one token per UTF-8 byte (vocab 256). */
const bytes: RequestTokenizer = { encode: (s) => [...Buffer.from(s, "utf8")] };

async function checkAgainstOracle(
  fixtureFile: string,
  model: string,
  tok: RequestTokenizer,
  strategy: "shared-context" | "rows" | "streamed",
): Promise<void> {
  const fx = JSON.parse(readFileSync(fixtures + fixtureFile, "utf8")) as Fixture;
  const tasks = [...zeroShotTaskNames];
  for (const name of tasks) {
    const file = name === "hellaswag" ? hellaswag : undefined;
    const items = loadTask(name, dataDir, fx.n_docs, file).items.map((it) => encodeItem(tok, it));
    const want = fx.tasks[name]!;
    assert.equal(items.length, want.length, name);
    items.forEach((it, i) => {
      assert.deepEqual(
        it.requests.map((r) => r.contextIds),
        want[i]!.contexts_ids,
        `${name} #${i} context ids`,
      );
      assert.deepEqual(
        it.requests.map((r) => r.continuationIds),
        want[i]!.choices_ids,
        `${name} #${i} continuation ids`,
      );
      assert.equal(it.gold, want[i]!.gold, `${name} #${i} gold`);
    });
  }
  const res = await zeroShot({
    model,
    tasks,
    dataDir,
    taskFiles: { hellaswag },
    limit: fx.n_docs,
    tokenizer: tok,
    threads: 1,
    tokensPerBatch: 300,
    ...(strategy === "streamed" ? { execution: "streamed" as const } : { strategy }),
  });
  assert.equal(res.plan.mode, strategy === "streamed" ? "streamed" : "whole");
  assert.equal(res.protocol.max_length, fx.max_length);
  for (const name of tasks) {
    const got = res.items[name]!;
    fx.tasks[name]!.forEach((w, i) => {
      w.lls.forEach((ll, c) => {
        const d = Math.abs(got[i]!.lls[c]! - ll);
        assert.ok(d < 1e-4, `${name} #${i} choice ${c}: ${got[i]!.lls[c]} vs ${ll}`);
      });
      assert.equal(got[i]!.acc, w.acc, `${name} #${i} acc`);
      assert.equal(got[i]!.accNorm, w.acc_norm ?? null, `${name} #${i} acc_norm`);
    });
    const t = res.tasks[name]!;
    assert.equal(t.n, fx.n_docs);
    assert.equal(t.acc, fx.tasks[name]!.reduce((a, w) => a + w.acc, 0) / fx.n_docs);
  }
}

for (const strategy of ["shared-context", "rows", "streamed"] as const) {
  test(`zero-shot (${strategy}) on a random llama (byte tokenizer, harness truncation at 192 positions) matches the oracle`, async () => {
    await checkAgainstOracle("random-llama.json", `${fixtures}random-llama`, bytes, strategy);
  });

  test(`zero-shot (${strategy}) on the demo model with its own tokenizer matches the oracle`, async () => {
    const model = `${root}models/tinystories-llama-8L`;
    await checkAgainstOracle("tinystories-llama-8L.json", model, loadTokenizer(model), strategy);
  });
}

test('the BOS policy "tokenizer" puts the BOS before every context of a tokenizer that adds one (scores change), and changes nothing for one without', async () => {
  const demo = `${root}models/tinystories-llama-8L`;
  const tok = loadTokenizer(demo);
  assert.notEqual(tok.bosId, undefined, "the demo tokenizer adds a BOS");
  const item = loadTask("arc_easy", dataDir, 1).items[0]!;
  const plain = encodeItem(tok, item, "none");
  const withBos = encodeItem(tok, item, "tokenizer");
  withBos.requests.forEach((r, i) => {
    assert.deepEqual(r.contextIds, [tok.bosId, ...plain.requests[i]!.contextIds]);
    assert.deepEqual(r.continuationIds, plain.requests[i]!.continuationIds);
  });

  const score = (model: string, bos: "none" | "tokenizer", tokenizer?: RequestTokenizer) =>
    zeroShot({ model, tasks: ["arc_easy", "piqa"], dataDir, limit: 3, threads: 1, bos, tokenizer });
  const [a, b] = [await score(demo, "none"), await score(demo, "tokenizer")];
  assert.equal(a.protocol.bos, "none");
  assert.equal(b.protocol.bos, "tokenizer");
  const lls = (r: Awaited<ReturnType<typeof score>>) =>
    Object.values(r.items).flatMap((items) => items!.flatMap((s) => s.lls));
  assert.ok(
    lls(a).every((ll, i) => ll !== lls(b)[i]),
    "every loglikelihood moves when the model reads a BOS first",
  );

  const random = `${fixtures}random-llama`;
  const [c, d] = [await score(random, "none", bytes), await score(random, "tokenizer", bytes)];
  assert.deepEqual(lls(c), lls(d));
  assert.deepEqual(c.tasks, d.tasks);
  assert.equal(d.protocol.bos, "tokenizer");
});

test("streamed zero-shot plans a pass of at most its requests' rows (its estimate was ~5x the peak for 8 rows)", async () => {
  const requests = loadTask("arc_easy", dataDir, 2)
    .items.map((it) => encodeItem(bytes, it))
    .reduce((n, it) => n + it.requests.length, 0);
  const res = await zeroShot({
    model: `${fixtures}random-llama`,
    tasks: ["arc_easy"],
    dataDir,
    limit: 2,
    tokenizer: bytes,
    threads: 1,
    execution: "streamed",
  });
  // 8192 tokens of these rows' length would allow more than 40 rows per pass
  assert.ok(requests < 10);
  assert.equal(res.plan.rowsPerPass, requests);
});
