// `shortened quantize` sizes its calibration by the quantize job's rule (contracts' quantizeCalibration), passing
// only the flags given: --calib-ids uses every row at its length, a text source draws 128 windows unless --n says.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { QuantizeSpec, quantizeCalibration } from "@shortened/contracts";
import { jsonOf, repoRoot, runCli } from "../../../../test/helpers/cli.js";

const model = join(repoRoot, "models/tinystories-llama-8L");
const dir = mkdtempSync(join(tmpdir(), "quantize-calibration-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI's calibration (from its report) and what a job with `calibration` would use. */
function both(name: string, flags: string[], calibration: Record<string, unknown>) {
  const out = join(dir, name);
  // 8 bits, one group per row: the demo model's 172-wide MLP packs (see quantize.embedded.test.ts)
  const base = [
    "quantize",
    "--model",
    model,
    "--out",
    out,
    "--bits",
    "8",
    "--group-size",
    "-1",
    "--threads",
    "1",
  ];
  jsonOf(runCli([...base, ...flags, "--json"]));
  const report = JSON.parse(readFileSync(join(out, "quantize-report.json"), "utf8"));
  const job = quantizeCalibration(
    QuantizeSpec.parse({ kind: "quantize", model: "m", calibration }).calibration,
  );
  return { cli: [report.calibration.n, report.calibration.seqLen], job: [job.n, job.seqLen] };
}

test("--calib-ids without --n/--seq-len: every row at its length, as a job given the same ids", () => {
  const ids = Array.from({ length: 5 }, (_, r) =>
    Array.from({ length: 24 }, (_, t) => 1 + ((r * 31 + t * 7) % 500)),
  );
  const file = join(dir, "calib.json");
  writeFileSync(file, JSON.stringify({ batch: ids }));
  const r = both("ids", ["--calib-ids", file], { ids });
  assert.deepEqual(r.cli, [5, 24]);
  assert.deepEqual(r.job, r.cli);
});

test("a text source without --n: the job's 128 windows (--seq-len kept)", () => {
  const r = both("text", ["--calib-dataset", "tinystories", "--seq-len", "32"], {
    dataset: "tinystories",
    seqLen: 32,
  });
  assert.deepEqual(r.cli, [128, 32]);
  assert.deepEqual(r.job, r.cli);
});
