// `shortened prune` on broken checkpoints: exit 2, one clear line on stderr, nothing at --out.
import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { brokenModel, type Defect, scratchDir } from "./helpers/bad-checkpoints.js";
import { runCli } from "./helpers/cli.js";

const work = scratchDir("cli-prune-bad-ckpt-");
after(() => rmSync(work, { recursive: true, force: true }));

const cases: [Defect, RegExp][] = [
  [
    "truncated",
    /^error: model\.safetensors: file is truncated: the header describes \d+ bytes of tensor data but the file holds \d+$/,
  ],
  [
    "header-beyond-file",
    /^error: model\.safetensors: header length \d+ is beyond the end of the file \(\d+ bytes\)$/,
  ],
  ["header-not-json", /^error: model\.safetensors: header is not valid JSON/],
  [
    "overlapping-offsets",
    /^error: model\.safetensors: tensor "model\.norm\.weight" data offsets \[\d+, \d+\] overlap tensor "/,
  ],
  [
    "out-of-range-offsets",
    /^error: model\.safetensors: tensor "model\.norm\.weight" data offsets \[\d+, \d+\] are out of range/,
  ],
  [
    "dtype-shape-mismatch",
    /^error: model\.safetensors: tensor "model\.norm\.weight" dtype F16 with shape \[16\] needs 32 bytes but its data offsets span 64$/,
  ],
  [
    "missing-shard",
    /^error: missing shard model-00002-of-00002\.safetensors \(listed in model\.safetensors\.index\.json\)/,
  ],
  [
    "unsupported-model-type",
    /^error: .*config\.json: unsupported model_type "gpt2" \(supported: llama, mistral, qwen2, gemma, qwen3, gemma2, gemma3_text, phi3\)$/,
  ],
];

describe("prune rejects broken checkpoints", () => {
  for (const [defect, message] of cases) {
    test(defect, () => {
      const model = brokenModel(defect, join(work, defect));
      const out = join(work, `${defect}-out`);
      const r = runCli(["prune", "--model", model, "--remove", "1", "--out", out, "--json"]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr.trim(), message);
      assert.equal(r.stderr.trim().split("\n").length, 1);
      assert.equal(existsSync(out), false);
      assert.deepEqual(
        readdirSync(work).filter((f) => f.startsWith(".")),
        [],
        "no temporary folder left",
      );
    });
  }
});
