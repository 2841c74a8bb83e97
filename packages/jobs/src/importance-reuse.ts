// Importance results are kept per (model version, criterion, calibration hash): a job that asks for
// scores already computed reads them (and derives its own "+" order from them) instead of recomputing.
// The hash covers what decides the calibration rows: their source (dataset, or the text's sha256),
// count, length and seed.
import { createHash } from "node:crypto";
import type { Calibration, ImportanceSpec, Ports } from "@shortened/contracts";
import { type BlockImportanceResult, plusOrder } from "@shortened/engine";

export function calibrationKey(c: Calibration): { hash: string; calibration: Record<string, unknown> } {
  const calibration = {
    source: c.text !== undefined ? "text" : (c.dataset ?? "wikitext2"),
    ...(c.text !== undefined ? { textSha256: createHash("sha256").update(c.text).digest("hex") } : {}),
    n: c.n,
    seqLen: c.seqLen,
    seed: c.seed,
  };
  const canonical = JSON.stringify(calibration, Object.keys(calibration).sort());
  return { hash: createHash("sha256").update(canonical).digest("hex").slice(0, 32), calibration };
}

export async function reuseOrCompute(
  spec: Pick<ImportanceSpec, "criterion" | "calibration" | "keepFirst" | "keepLast">,
  ports: Ports,
  compute: () => Promise<BlockImportanceResult>,
): Promise<BlockImportanceResult & { reused?: boolean }> {
  const store = ports.importance;
  if (!store) return compute();
  const versionId = ports.context.input.id;
  const key = calibrationKey(spec.calibration);
  const stored = (await store.find(versionId, spec.criterion, key.hash)) as BlockImportanceResult | null;
  if (stored) {
    ports.progress.log(
      `importance: reusing the stored ${spec.criterion} scores of this version (calibration ${key.hash.slice(0, 12)})`,
    );
    return {
      ...stored,
      keepFirst: spec.keepFirst,
      keepLast: spec.keepLast,
      orderPlus: plusOrder(stored.order, stored.numLayers, spec.keepFirst, spec.keepLast, stored.group ?? 1),
      reused: true,
    };
  }
  const r = await compute();
  // The local folder it was computed from means nothing to a later job.
  const { model: _local, ...kept } = r;
  await store.store(versionId, spec.criterion, key.hash, key.calibration, kept as Record<string, unknown>);
  return r;
}
