// Importance results are kept per (model version, criterion, calibration hash): a job that asks for
// scores already computed reads them (and derives its own "+" order from them) instead of recomputing.
// The hash covers what decides the calibration rows: their source (dataset, or the text's sha256),
// count, length and seed.
import { createHash } from "node:crypto";
import type { Calibration, ImportanceSpec, Ports } from "@shortened/contracts";
import { type BlockImportanceResult, plusOrder } from "@shortened/engine";

export function calibrationKey(
  c: Calibration,
  tuning: { group?: number; token?: string; keep?: string } = {},
): { hash: string; calibration: Record<string, unknown> } {
  const sha = (x: string) => createHash("sha256").update(x).digest("hex");
  const calibration = {
    source: c.ids ? "ids" : c.text !== undefined ? "text" : (c.dataset ?? "wikitext2"),
    ...(c.text !== undefined ? { textSha256: sha(c.text) } : {}),
    ...(c.ids ? { idsSha256: sha(JSON.stringify(c.ids)) } : { n: c.n, seed: c.seed }),
    seqLen: c.seqLen,
    // Fields added later enter the key only when they change the rows or the scores, so keys of earlier
    // results stay valid.
    ...(c.bos !== undefined && c.bos !== "none" ? { bos: c.bos } : {}),
    ...(tuning.group !== undefined && tuning.group !== 1 ? { group: tuning.group } : {}),
    ...(tuning.token !== undefined ? { token: tuning.token } : {}),
    // sleb's removal sequence runs over the "+" candidates: the kept blocks decide the scores
    ...(tuning.keep !== undefined ? { keep: tuning.keep } : {}),
  };
  const canonical = JSON.stringify(calibration, Object.keys(calibration).sort());
  return { hash: sha(canonical).slice(0, 32), calibration };
}

export async function reuseOrCompute(
  spec: Pick<
    ImportanceSpec,
    "criterion" | "calibration" | "keepFirst" | "keepLast" | "group" | "token" | "dtype"
  >,
  ports: Ports,
  compute: () => Promise<BlockImportanceResult>,
): Promise<BlockImportanceResult & { reused?: boolean }> {
  const store = ports.importance;
  // A file in the artifact store may be replaced under the same key: its scores are not kept.
  if (!store || spec.calibration.artifact !== undefined) return compute();
  // The stored scores are float32 ones; a half-precision run is its own (close, not equal) measurement.
  if ((spec.dtype ?? "float32") !== "float32") return compute();
  const versionId = ports.context.input.id;
  const sleb = spec.criterion === "sleb";
  const key = calibrationKey(spec.calibration, {
    ...spec,
    ...(sleb ? { keep: `${spec.keepFirst},${spec.keepLast}` } : {}),
  });
  const stored = (await store.find(versionId, spec.criterion, key.hash)) as BlockImportanceResult | null;
  if (stored) {
    ports.progress.log(
      `importance: reusing the stored ${spec.criterion} scores of this version (calibration ${key.hash.slice(0, 12)})`,
    );
    return {
      ...stored,
      keepFirst: spec.keepFirst,
      keepLast: spec.keepLast,
      orderPlus: sleb
        ? stored.orderPlus
        : plusOrder(stored.order, stored.numLayers, spec.keepFirst, spec.keepLast, stored.group ?? 1),
      reused: true,
    };
  }
  const r = await compute();
  // The local folder it was computed from means nothing to a later job.
  const { model: _local, ...kept } = r;
  await store.store(versionId, spec.criterion, key.hash, key.calibration, kept as Record<string, unknown>);
  return r;
}
