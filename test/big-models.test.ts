// bench/big-models.sh measures issue 10's targets on large generated checkpoints, one markdown row per step. Its steps
// are run here on the demo model (a copy, since the script writes its inputs beside the model folder), so a step
// that breaks is found before an hour-long run on a 7B checkpoint: every row carries a peak RSS, a wall time and
// the command's result, and a refused command gives a "failed" row with its reason while the other steps go on.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "./helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "shortened-big-models-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, "demo");
cpSync(join(repoRoot, "models/tinystories-llama-8L"), model, { recursive: true });

const benchWith = (env: Record<string, string>, budget: string, ...steps: string[]) => {
  const r = spawnSync("bash", ["bench/big-models.sh", model, budget, ...steps], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout.trim().split("\n");
};
const bench = (budget: string, ...steps: string[]) => benchWith({}, budget, ...steps);

/** `| label | 0.21 GB | 4 s | result; CPU 3 s |` → the result, after checking the measured columns. */
function result(rows: string[], label: string): string {
  const row = rows.find((l) => l.startsWith(`| ${label} |`));
  assert.ok(row, `no row "${label}" in:\n${rows.join("\n")}`);
  const m = /^\| [^|]+ \| ([\d.]+) GB \| (\d+) s \| (.+); CPU (\d+) s \|$/.exec(row);
  assert.ok(m, `not a measured row: ${row}`);
  assert.ok(Number(m[1]) > 0.01, row);
  assert.ok(
    Number(m[4]) <= availableParallelism() * (Number(m[2]) + 1),
    `more CPU time than the cores give: ${row}`,
  );
  return m[3];
}

test("the magnitude, bi, cpt and ceiling steps measure their command and print its result", {
  timeout: 600_000,
}, () => {
  const rows = bench("2G", "magnitude", "bi", "cpt", "ceiling");
  assert.match(result(rows, "importance magnitude"), /^order (\d+,){7}\d+…; scores\[0\.\.2\] /);
  assert.match(result(rows, "importance bi, 2 x 16 calibration"), /whole model.*; order (\d+,){7}\d+…/);
  const losses = /losses ([\d.]+), ([\d.]+)$/.exec(result(rows, "retrain cpt, 2 steps of 1 x 128"));
  assert.ok(losses && Number(losses[1]) > 0 && Number(losses[2]) > 0, rows.join("\n"));
  assert.ok(existsSync(join(`${model}.bench`, "cpt", "model.safetensors")));
  const ceiling = rows.find((l) =>
    l.startsWith("| GEMM ceiling, float32 MatMul 256 x 64 x 172, weight as an input |"),
  );
  assert.match(
    ceiling ?? rows.join("\n"),
    /\| best [\d.]+ GFLOP\/s, median [\d.]+; the ppl step \(2 x 128 tokens\) is [\d.e-]+ TFLOP \|$/,
  );
  assert.match(rows.at(-1)!, /^dtype float32, budget 2G; machine: \d+ cores, .* load /);
});

test("a step its budget refuses gives a failed row with the reason, and the next step still runs", {
  timeout: 600_000,
}, () => {
  const rows = bench("1M", "cpt", "magnitude");
  const failed = rows.find((l) => l.startsWith("| retrain cpt, 2 steps of 1 x 128 | failed: "));
  assert.ok(failed, rows.join("\n"));
  assert.match(failed, /CPT training needs about .* more than the 1 MB budget/);
  assert.match(result(rows, "importance magnitude"), /^order /);
});

test("KEEP_JSON keeps a step's whole output; the throughput step splits its time into reads, blocks and head", {
  timeout: 600_000,
}, () => {
  const keep = join(dir, "kept");
  mkdirSync(keep);
  const rows = benchWith({ KEEP_JSON: keep, TP_ROWS: "2", TP_SEQ: "32" }, "2G", "throughput");
  assert.match(
    result(rows, "streamed forward, 2 x 32 tokens"),
    /s per 1k tokens .*% of the \d+ GFLOP\/s GEMM ceiling/,
  );
  const r = JSON.parse(readFileSync(join(keep, "throughput.json"), "utf8"));
  assert.equal(r.tokens, 64);
  for (const k of ["blockReadS", "blockRunS", "headReadS", "headRunS"]) assert.ok(r[k] > 0, `${k} ${r[k]}`);
  assert.ok(r.blockReadS + r.blockRunS + r.headReadS + r.headRunS <= r.wallS * 1.01, JSON.stringify(r));
  assert.ok(r.blockFractionOfCeiling > 0 && r.headFractionOfCeiling > 0, JSON.stringify(r));
  const [before, after] = r.gemmCeilingBeforeAfterGflops;
  assert.ok(
    before > 0 &&
      after > 0 &&
      Math.abs(r.gemmCeilingGflops - (before + after) / 2) < 1e-9 * r.gemmCeilingGflops,
    JSON.stringify(r),
  );
});
