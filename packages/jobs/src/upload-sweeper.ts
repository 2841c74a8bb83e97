// Leftovers of failed model uploads in the artifact store. Registering a model from a folder or an upload copies
// its files under `teams/<team>/models/<key>/base/` (key: a fresh UUIDv7) and records the version only after the
// last file is stored; when that fails, the registration deletes what it copied, but not when the store is down
// at that moment (or the API dies). Such a prefix is an orphan: no version names it as its storagePrefix. The
// sweeper removes orphans whose key was made more than `graceMs` ago (a registration still copying is younger;
// the key's UUIDv7 carries its creation time), and aborts multipart uploads under the models area started before
// that time (an upload cut off before its first file completed leaves only those).
import type { PrismaClient } from "@shortened/adapters";
import type { ArtifactStore } from "@shortened/contracts";

export interface UploadSweepOptions {
  /** an orphan's key must be at least this old (default 6 h: longer than any registration copies) */
  graceMs?: number;
  /** at most one pass per this interval when called through sweepIfDue (default 1 h: it lists every base model) */
  everyMs?: number;
  now?: () => number;
}

/** Creation time (ms) of a UUIDv7, or null for anything else. */
export function uuidv7Time(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return null;
  return Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

export class ModelUploadSweeper {
  private lastPass = Number.NEGATIVE_INFINITY;
  private readonly graceMs: number;
  private readonly everyMs: number;
  private readonly now: () => number;

  constructor(
    private readonly db: PrismaClient,
    private readonly store: ArtifactStore,
    opts: UploadSweepOptions = {},
  ) {
    this.graceMs = opts.graceMs ?? 6 * 3600_000;
    this.everyMs = opts.everyMs ?? 3600_000;
    this.now = opts.now ?? Date.now;
  }

  /** A pass when the last one is `everyMs` old; 0 otherwise. */
  async sweepIfDue(): Promise<number> {
    if (this.now() - this.lastPass < this.everyMs) return 0;
    const n = await this.sweep();
    this.lastPass = this.now();
    return n;
  }

  /** One pass over every team's models area; returns the objects and uploads removed. Throws on store errors. */
  async sweep(): Promise<number> {
    const cutoff = this.now() - this.graceMs;
    let removed = 0;
    for (const { id } of await this.db.team.findMany({ select: { id: true } })) {
      const area = `teams/${id}/models/`;
      const byPrefix = new Map<string, string[]>();
      for (const { key } of await this.store.list(area)) {
        const [modelKey, base] = key.slice(area.length).split("/");
        const t = uuidv7Time(modelKey ?? "");
        if (base !== "base" || t === null || t > cutoff) continue;
        const prefix = `${area}${modelKey}/base/`;
        byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), key]);
      }
      if (byPrefix.size > 0) {
        const referenced = await this.db.modelVersion.findMany({
          where: { storagePrefix: { in: [...byPrefix.keys()] } },
          select: { storagePrefix: true },
        });
        for (const r of referenced) byPrefix.delete(r.storagePrefix);
        for (const keys of byPrefix.values()) {
          await this.store.delete(keys);
          removed += keys.length;
        }
      }
      removed += (await this.store.abortUploads?.(area, new Date(cutoff))) ?? 0;
    }
    return removed;
  }
}
