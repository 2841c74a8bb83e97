// The forward graph against the float64 oracle on a tiny checkpoint of every architecture: per-token NLL of
// `oracle.py forward --per-token`, with all blocks and with block 1 gated off (= oracle --skip 1).
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertRel, fixture, MODELS, modelDir } from "../test-support/engine-fixtures.js";
import { ForwardSession } from "./forward-session.js";
import { shiftedTargets } from "./targets.js";

const rows: number[][] = fixture("rows.json").batch;
const B = rows.length;
const T = rows[0]!.length;
const ids = rows.flat();

for (const m of MODELS) {
  test(`forward NLL of ${m} equals the oracle (all blocks, and block 1 gated off)`, async () => {
    for (const skipGraph of [false, true]) {
      const s = await ForwardSession.open(modelDir(m), { skipGatedBlocks: skipGraph, hidden: true });
      try {
        const L = s.config.numHiddenLayers;
        for (const [file, gate1] of [
          ["forward.json", 1],
          ["forward_skip1.json", 0],
        ] as const) {
          const ref = fixture(`cases/${m}/${file}`);
          const gates = new Float32Array(L).fill(1);
          gates[1] = gate1;
          const out = await s.run({ batch: B, seqLen: T, ids, targets: shiftedTargets(ids, B, T), gates });
          let sum = 0;
          for (let b = 0; b < B; b++) {
            for (let t = 0; t < T - 1; t++) {
              const v = out.nll![b * T + t]!;
              sum += v;
              assert.ok(
                Math.abs(v - ref.token_nll[b][t]) < 1e-4,
                `${m} ${file} token ${b},${t}: ${v} vs ${ref.token_nll[b][t]}`,
              );
            }
          }
          assertRel(sum / (B * (T - 1)), ref.loss, 1e-5, `${m} ${file} loss`);
          // hidden states at block boundaries: h_0 and every block output (a gated-off block passes h through)
          const kept = ref.hidden_stats as [number, number][];
          const ours = out.hidden!.filter((_, i) => i === 0 || gates[i - 1] === 1);
          assert.equal(ours.length, kept.length);
          ours.forEach((h, i) => {
            let s2 = 0;
            for (const x of h) s2 += x * x;
            assertRel(s2, kept[i]![1], 1e-4, `${m} ${file} hidden ${i} sum of squares`);
          });
        }
      } finally {
        await s.release();
      }
    }
  });
}
