// GPTQ and RTN of the oracle's fixture model (scripts/fixtures/gptq.sh) against the float64 oracle `gptq`, with the
// tolerances its README states for a float32 implementation: with float16 scales in the loop, integer codes equal
// ≥ 99.9 %, per-layer loss rel 1e-4, total rel 1e-5, PPL rel 1e-5, hessian_trace rel 1e-5; with AutoGPTQ's float
// scales, codes ≥ 85 %, per-layer loss rel 5e-2, total rel 1e-2, PPL rel 1e-2. Scales and zeros compared where
// the codes' group assignment agrees. The factor of H⁻¹ runs blocked (small diagonal blocks, ORT products).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Checkpoint } from "@shortened/hf";
import { perplexity } from "../eval/perplexity.js";
import { assertRel } from "../test-support/engine-fixtures.js";
import type { GptqSettings } from "./gptq-linear.js";
import { quantizeModel } from "./quantize-model.js";

const HF = fileURLToPath(new URL("../../../hf/src/fixtures/gptq/", import.meta.url));
const FIX = fileURLToPath(new URL("../fixtures/gptq/", import.meta.url));
const json = (name: string) => JSON.parse(readFileSync(`${FIX}${name}`, "utf8"));
const stream: number[] = json("stream.json").ids;
const rows: number[][] = json("calib.json").batch;
const work = mkdtempSync(join(tmpdir(), "gptq-oracle-"));
after(() => rmSync(work, { recursive: true, force: true }));

const base: GptqSettings & { trueSequential: boolean; checkpointFormat: "gptq" } = {
  method: "gptq",
  bits: 4,
  groupSize: 32,
  actOrder: true,
  staticGroups: false,
  sym: true,
  damp: 0.01,
  blockSize: 128,
  fp16Scales: true,
  dampRetries: 0,
  dampStep: 0.0015,
  trueSequential: true,
  checkpointFormat: "gptq",
};

interface Case {
  ref: string;
  ckpt?: string;
  settings: Partial<GptqSettings>;
  exact: boolean;
}
const CASES: Case[] = [
  { ref: "g32-act-fp16.json", ckpt: "g32-act", settings: {}, exact: true },
  { ref: "b3-row.json", ckpt: "b3-row", settings: { bits: 3, groupSize: -1, actOrder: false }, exact: true },
  {
    ref: "b2-g64-static.json",
    ckpt: "b2-g64-static",
    settings: { bits: 2, groupSize: 64, staticGroups: true },
    exact: true,
  },
  { ref: "b8-g64-act.json", ckpt: "b8-g64-act", settings: { bits: 8, groupSize: 64 }, exact: true },
  { ref: "rtn-g32-act.json", settings: { method: "rtn" }, exact: true },
  { ref: "g32-act.json", settings: { fp16Scales: false }, exact: false },
];

let n = 0;
describe("quantizeModel against the oracle's gptq", () => {
  for (const c of CASES) {
    test(`${c.ref}`, async () => {
      const ref = json(c.ref);
      const out = join(work, `q${n++}`);
      mkdirSync(out);
      const r = await quantizeModel({
        model: `${HF}float`,
        out,
        rows,
        settings: { ...base, ...c.settings },
        batchSize: 5,
        threads: 1,
        // diagonal blocks of 16: the fixture's 64- and 128-wide Hessians go through the blocked ORT factor
        factorLeaf: 16,
      });
      assert.deepEqual(
        r.layers.map((l) => l.name),
        ref.layers.map((l: { name: string }) => l.name),
      );
      const lossTol = c.exact ? 1e-4 : 5e-2;
      r.layers.forEach((l, k) => {
        const o = ref.layers[k];
        assertRel(l.hessianTrace, o.hessian_trace, 1e-5, `${l.name} hessian_trace`);
        assertRel(l.damp, o.damp, 1e-5, `${l.name} damp`);
        assert.equal(l.dead, o.dead);
        assertRel(l.loss, o.loss, lossTol, `${l.name} loss`);
      });
      assertRel(r.totalLoss, ref.total_loss, c.exact ? 1e-5 : 1e-2, "total loss");
      // perplexity of the written checkpoint (MatMulNBits) against the oracle's
      const ppl = await perplexity({
        model: out,
        ids: stream,
        seqLen: 32,
        bos: "first",
        bosId: 1,
        threads: 1,
      });
      const refPpl = ref.ppl.checkpoint?.ppl ?? ref.ppl.quantized.ppl;
      assertRel(ppl.ppl, refPpl, c.exact ? 1e-5 : 1e-2, "ppl");
      if (!c.ckpt) return;
      // codes, scales, zeros and g_idx against the oracle's checkpoint
      const mine = Checkpoint.open(out);
      const theirs = Checkpoint.open(`${HF}${c.ckpt}`);
      let same = 0;
      let total = 0;
      for (const l of ref.layers) {
        const a = mine.gptqLinear(l.name);
        const b = theirs.gptqLinear(l.name);
        assert.deepEqual(a.gIdx, b.gIdx, `${l.name} g_idx`);
        assert.deepEqual(a.zeros, b.zeros, `${l.name} zeros`);
        for (let k = 0; k < a.codes.length; k++) if (a.codes[k] === b.codes[k]) same++;
        total += a.codes.length;
        let scalesSame = 0;
        for (let k = 0; k < a.scales.length; k++) if (a.scales[k] === b.scales[k]) scalesSame++;
        assert.ok(
          scalesSame / a.scales.length >= 0.99,
          `${l.name}: scales equal ${scalesSame}/${a.scales.length}`,
        );
      }
      assert.ok(same / total >= 0.999, `codes equal ${same}/${total}`);
    });
  }
});
