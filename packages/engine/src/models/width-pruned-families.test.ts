// Width pruning is exact surgery on every family: the width-pruned checkpoint computes what the original computes
// with the removed attention heads' o_proj columns and the removed MLP channels' down_proj columns zeroed (a
// head or channel whose output is multiplied by zero is a head or channel removed). Per-token NLL within 1e-5 on
// rows longer than the sliding windows: qwen3 (q/k norms, o bias), gemma2 (four norms, soft-capping), gemma3_text,
// phi3 (fused qkv_proj kept, gate_up_proj cut in both halves) with and without longrope, qwen2 with a window,
// llama. The rewritten config loads in the engine as the smaller model.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Checkpoint, layerWeight, readConfig, widthPrune, writeSafetensors } from "@shortened/hf";
import { assertAllRel } from "../test-support/engine-fixtures.js";
import { ForwardSession } from "./forward-session.js";
import { shiftedTargets } from "./targets.js";

const ARCH = fileURLToPath(new URL("../fixtures/arch/models/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "width-families-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const rows = [
  Array.from({ length: 18 }, (_, t) => (t * 37 + 5) % 128),
  Array.from({ length: 18 }, (_, t) => (t * 11 + 3) % 128),
];

/** The original model with the given columns of o_proj (per kept/removed query head) and down_proj zeroed. */
function zeroedCopy(src: string, dst: string, kept: { groups: number[]; channels: number[] }[]): void {
  mkdirSync(dst);
  const ckpt = Checkpoint.open(src);
  const c = ckpt.config;
  const rep = c.numAttentionHeads / c.numKeyValueHeads;
  const d = c.headDim;
  const zeroCols = (w: Float32Array, cols: number, keep: (col: number) => boolean) => {
    for (let r = 0; r < w.length / cols; r++)
      for (let col = 0; col < cols; col++) if (!keep(col)) w[r * cols + col] = 0;
  };
  const tensors = [...ckpt.tensors.values()].map((t) => {
    const data = ckpt.readFloat32(t.name);
    for (let l = 0; l < c.numHiddenLayers; l++) {
      const groups = new Set(kept[l]!.groups);
      const channels = new Set(kept[l]!.channels);
      if (t.name === layerWeight(l, "self_attn.o_proj.weight"))
        zeroCols(data, t.shape[1]!, (col) => groups.has(Math.floor(Math.floor(col / d) / rep)));
      if (t.name === layerWeight(l, "mlp.down_proj.weight"))
        zeroCols(data, t.shape[1]!, (col) => channels.has(col));
    }
    return { name: t.name, dtype: "F32" as const, shape: t.shape, data: new Uint8Array(data.buffer) };
  });
  writeSafetensors(join(dst, "model.safetensors"), tensors);
  copyFileSync(join(src, "config.json"), join(dst, "config.json"));
}

async function tokenNll(model: string): Promise<number[]> {
  const s = await ForwardSession.open(model, { nll: true, threads: 1, maxSeqLen: 18 });
  try {
    const ids = rows.flat();
    const out = await s.run(
      { batch: 2, seqLen: 18, ids, targets: shiftedTargets(ids, 2, 18) },
      { nll: true },
    );
    return Array.from(out.nll!).filter((_, i) => i % 18 !== 17);
  } finally {
    await s.release();
  }
}

for (const m of readdirSync(ARCH).filter((n) => !/^llama-(linear|dynamic|yarn|longrope)/.test(n))) {
  test(`width pruning ${m} equals the original with the removed heads and channels zeroed`, async () => {
    const src = join(ARCH, m);
    const out = join(tmp, m);
    const r = await widthPrune({ model: src, out, keepRatio: 0.5 });
    const before = readConfig(src);
    const after = readConfig(out);
    assert.equal(after.intermediateSize, r.intermediateSize);
    assert.ok(after.intermediateSize < before.intermediateSize, "MLP channels removed");
    if (before.modelType === "phi3") assert.equal(after.numAttentionHeads, before.numAttentionHeads);
    else if (before.numKeyValueHeads > 1)
      assert.ok(after.numKeyValueHeads < before.numKeyValueHeads, "head groups removed");
    assert.equal(after.headDim, before.headDim);
    assert.deepEqual(after.layerTypes, before.layerTypes);
    const zeroed = join(tmp, `${m}-zeroed`);
    zeroedCopy(src, zeroed, r.kept);
    assertAllRel(await tokenNll(out), await tokenNll(zeroed), 1e-5, `${m} token NLL`);
  });
}
