// End-to-end: `shortened eval ppl`, `shortened importance` and `shortened prune --criterion` against oracle
// fixtures of the engine (packages/engine/src/fixtures/engine, made by scripts/fixtures/engine.sh).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { jsonOf, repoRoot, runCli } from "../../../../test/helpers/cli.js";

const FIX = join(repoRoot, "packages/engine/src/fixtures/engine");
const model = join(FIX, "models/llama8");
const oracle = (p: string) => JSON.parse(readFileSync(join(FIX, p), "utf8"));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test("eval ppl --ids --json prints ppl, tokens and the protocol, equal to the oracle", () => {
  const r = jsonOf(
    runCli([
      "eval",
      "ppl",
      "--model",
      model,
      "--ids",
      join(FIX, "stream.json"),
      "--seq-len",
      "32",
      "--bos",
      "every",
      "--bos-id",
      "1",
      "--threads",
      "1",
      "--json",
    ]),
  );
  const ref = oracle("cases/llama8/ppl_every.json");
  assert.ok(rel(r.ppl, ref.ppl) < 1e-4, `${r.ppl} vs ${ref.ppl}`);
  assert.equal(r.tokens, ref.tokens);
  assert.equal(r.protocol.bos, "every");
  assert.equal(r.protocol.seqLen, 32);
  assert.equal(r.protocol.dataset, "ids");
  assert.match(r.protocol.softwareVersion, /onnxruntime-node/);
});

test("importance --json prints scores, order and orderPlus equal to the oracle", () => {
  const r = jsonOf(
    runCli([
      "importance",
      "--model",
      model,
      "--criterion",
      "ppl",
      "--calib-ids",
      join(FIX, "calib.json"),
      "--threads",
      "1",
      "--json",
    ]),
  );
  const ref = oracle("cases/llama8/importance_ppl.json");
  for (const [i, s] of (r.scores as number[]).entries()) assert.ok(rel(s, ref.block_scores[i]) < 1e-4);
  assert.deepEqual(r.order, ref.block_order);
  assert.deepEqual(r.orderPlus, ref.block_order_plus);
});

test("prune --criterion ppl --blocks 2 removes the first two blocks of the + order and records the criterion", (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "cli-prune-"));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const out = join(tmp, "pruned");
  const r = jsonOf(
    runCli([
      "prune",
      "--model",
      model,
      "--criterion",
      "ppl",
      "--blocks",
      "2",
      "--calib-ids",
      join(FIX, "calib.json"),
      "--out",
      out,
      "--json",
    ]),
  );
  const ref = oracle("cases/llama8/importance_ppl.json");
  assert.deepEqual([...r.removed].sort(), ref.block_order_plus.slice(0, 2).sort());
  const record = JSON.parse(readFileSync(join(out, "pruning.json"), "utf8"));
  assert.equal(record.criterion, "ppl");
  assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).num_hidden_layers, 6);
});

test("bad input exits 2 with one line on stderr, before any compute", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cli-bad-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "ids.json"), JSON.stringify({ ids: [1, 2, 999, 3, 4, 5, 6, 7, 8, 9] }));
  writeFileSync(
    join(dir, "ragged.json"),
    JSON.stringify({
      batch: [
        [1, 2, 3],
        [1, 2],
      ],
    }),
  );
  const cases: [string[], RegExp][] = [
    [
      ["eval", "ppl", "--model", model, "--ids", join(dir, "ids.json"), "--seq-len", "8"],
      /outside the vocabulary/,
    ],
    [
      ["eval", "ppl", "--model", model, "--ids", join(FIX, "stream.json"), "--seq-len", "32768"],
      /max_position_embeddings/,
    ],
    [
      ["eval", "ppl", "--model", model, "--ids", join(FIX, "stream.json"), "--seq-len", "abc"],
      /--seq-len must be an integer/,
    ],
    [["eval", "ppl", "--model", model], /exactly one of/],
    [
      ["importance", "--model", model, "--criterion", "ppl", "--calib-ids", join(dir, "ragged.json")],
      /unequal lengths/,
    ],
    [
      ["importance", "--model", model, "--criterion", "nope", "--calib-ids", join(FIX, "calib.json")],
      /unknown criterion/,
    ],
    [
      [
        "prune",
        "--model",
        model,
        "--criterion",
        "ppl",
        "--blocks",
        "5",
        "--calib-ids",
        join(FIX, "calib.json"),
        "--out",
        join(dir, "o"),
      ],
      /only 2 of 8 blocks/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});

test("--dtype float16: eval ppl and importance run float16 (within the README's tolerance); bfloat16 on CPU exits 2", () => {
  const common = ["--model", model, "--threads", "1", "--dtype", "float16", "--json"];
  const ppl = jsonOf(
    runCli(["eval", "ppl", ...common, "--ids", join(FIX, "stream.json"), "--seq-len", "32", "--bos-id", "1"]),
  );
  // 4u√D with u = 2^-11, D = 6·8 + 2 (../../../../packages/engine/src/test-support/half-tolerance.ts)
  const tol = 4 * 2 ** -11 * Math.sqrt(50);
  assert.ok(rel(ppl.ppl, oracle("cases/llama8/ppl_first.json").ppl) < tol);
  assert.equal(ppl.protocol.dtype, "float16");
  assert.match(ppl.plan.summary, /float16 weights/);
  const imp = jsonOf(
    runCli(["importance", ...common, "--criterion", "ppl", "--calib-ids", join(FIX, "calib.json")]),
  );
  assert.equal(imp.protocol.dtype, "float16");
  const bf = runCli([
    "eval",
    "ppl",
    "--model",
    model,
    "--ids",
    join(FIX, "stream.json"),
    "--dtype",
    "bfloat16",
  ]);
  assert.equal(bf.code, 2);
  assert.match(bf.stderr, /--dtype bfloat16 needs the CUDA execution provider \(--device cuda\)/);
  assert.equal(bf.stderr.trim().split("\n").length, 1);
  const bad = runCli(["eval", "ppl", "--model", model, "--ids", join(FIX, "stream.json"), "--dtype", "half"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--dtype/);
});
