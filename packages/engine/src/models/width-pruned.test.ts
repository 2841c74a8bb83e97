// A width-pruned checkpoint (packages/hf width-prune.ts: fewer heads, a smaller MLP) is an ordinary model to
// the forward graph: its tensors fit the rewritten config and it computes a finite loss.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { widthPrune } from "@shortened/hf";
import { ForwardSession } from "./forward-session.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "width-pruned-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

for (const [name, model, keepRatio] of [
  ["the demo model at 6/8", `${root}models/tinystories-llama-8L`, 6 / 8],
  ["Qwen2 (q/k/v biases) at 1/2", `${root}packages/hf/src/fixtures/prune/qwen2-f32-tied/model`, 0.5],
] as const) {
  test(`a width-pruned checkpoint runs through the forward graph: ${name}`, async () => {
    const out = join(tmp, name.replace(/\W+/g, "-"));
    await widthPrune({ model, out, keepRatio });
    const s = await ForwardSession.open(out, { nll: true, threads: 1 });
    try {
      const ids = [1, 15, 26, 30, 13, 57, 29, 31, 62, 45]; // within both vocabularies (Qwen2 fixture: 64)
      const { nll } = await s.run(
        { batch: 1, seqLen: ids.length - 1, ids: ids.slice(0, -1), targets: ids.slice(1) },
        { nll: true },
      );
      assert.ok(nll!.every(Number.isFinite));
    } finally {
      await s.release();
    }
  });
}
