// A graph's converted weights through the converted-weights cache (./weight-cache.ts): each initializer whose
// values are known before they are made (`contentKey`: a checkpoint tensor converted, or transposed) becomes a
// reference to its cache entry, written on a miss one tensor at a time (JavaScript holds one tensor at a time).
// Entries start at offset 0, page aligned, so ONNX Runtime maps them instead of reading them into its heap.

import { createHash } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { IO_PIECE_BYTES, writeAllSync } from "@shortened/hf";
import { EXTERNAL_THRESHOLD_BYTES, type GraphBuilder, type Tensor, tensorBytes } from "./builder.js";
import { type CacheEntry, type CacheUse, useCacheEntries, type WeightCache } from "./weight-cache.js";

/** Marks `g`'s cacheable initializers as references to their entries, linked into the returned use's folder;
 *  null, and `g` unchanged, when none is cacheable or they do not fit the cache's bound. */
export function referCachedWeights(g: GraphBuilder, cache: WeightCache): CacheUse | null {
  const cached: [string, Tensor, CacheEntry][] = [];
  for (const [name, t] of g.initializers) {
    const bytes = tensorBytes(t);
    if (!t.contentKey || !t.read || t.external || bytes < EXTERNAL_THRESHOLD_BYTES) continue;
    const key = createHash("sha256")
      .update(JSON.stringify(["shortened-weight-v1", t.contentKey, t.type, t.dims]))
      .digest("hex")
      .slice(0, 32);
    const read = t.read;
    cached.push([name, t, { key, bytes, write: (path) => writeTensor(path, read()) }]);
  }
  if (cached.length === 0) return null;
  const use = useCacheEntries(
    cache,
    cached.map(([, , e]) => e),
  );
  if (!use) return null;
  for (const [name, t, e] of cached)
    g.initializers.set(name, { ...t, read: undefined, external: { location: `${e.key}.data`, offset: 0 } });
  return use;
}

function writeTensor(path: string, data: Tensor["data"]): void {
  const fd = openSync(path, "w");
  try {
    writeAllSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), null, IO_PIECE_BYTES);
  } finally {
    closeSync(fd);
  }
}
