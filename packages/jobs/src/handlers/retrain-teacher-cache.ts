// The teacher's top-K cache of a distilled retraining, kept in the team's area of the artifact store: one
// object per (teacher version, training rows' token ids, K) (engine retrain/distill-cache.ts; temperature and
// alpha are applied when it is read, so every cell of a study that shares the teacher, data and seqLen shares
// it). A job downloads it and checks its checksum; when it is missing, corrupt or not these rows' cache, the
// job computes it (the teacher alone, before the student is loaded, whole or block-streamed within the memory
// budget) and stores it. A retried attempt finds it again, so a resumed run reads the numbers it began with.
// The key lies under teams/<team>/: a team never reads another team's cache, even of a shared teacher.
import { join } from "node:path";
import type { Ports, RetrainSpec, VersionInfo } from "@shortened/contracts";
import {
  buildTeacherCache,
  cacheBodyBytes,
  type TrainRows,
  teacherCacheKey,
  verifyTeacherCache,
} from "@shortened/engine";
import { teacherCachePrefix } from "../keys.js";

export interface TeacherCacheRecord {
  /** the artifact store key */
  key: string;
  reused: boolean;
  tokens: number;
  bytes: number;
  /** when computed: seconds the teacher took */
  seconds?: number;
}

/** Where the cache of this run will be on local disk (set before the training's memory plan is made). */
export const teacherCachePath = (workDir: string) => join(workDir, "teacher-topk.kdc");

export async function ensureTeacherCache(
  ports: Ports,
  teacher: { version: VersionInfo; dir: string; vocab: number },
  rows: TrainRows,
  o: RetrainSpec,
): Promise<TeacherCacheRecord> {
  const topK = o.distill!.topK!;
  const { teamId, workDir } = ports.context;
  const key = `${teacherCachePrefix(teamId)}${teacherCacheKey(teacher.version.id, rows, topK)}.kdc`;
  const path = teacherCachePath(workDir);
  const lengths = rows.ids.map((r) => r.length);
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const short = key.slice(-16, -4);
  if ((await ports.artifacts.list(key)).some((x) => x.key === key)) {
    try {
      await ports.artifacts.getToFile(key, path, ports.signal);
      const { bodyStart } = verifyTeacherCache(path, { k: topK, vocab: teacher.vocab, lengths });
      ports.progress.log(`retrain: reusing the teacher's top-${topK} cache ${short} (${tokens} tokens)`);
      return { key, reused: true, tokens, bytes: bodyStart + cacheBodyBytes(lengths, topK) };
    } catch (e) {
      ports.signal.throwIfAborted();
      ports.progress.log(
        `retrain: the stored teacher cache ${short} is unusable (${(e as Error).message}); computing it again`,
      );
    }
  }
  ports.progress.progress(0, `computing the teacher's top-${topK} cache`);
  const t0 = performance.now();
  const built = await buildTeacherCache({
    teacher: teacher.dir,
    rows,
    topK,
    path,
    batch: o.batch,
    memoryBudget: o.memoryBudget,
    device: o.device,
    threads: o.threads,
    signal: ports.signal,
    onPlan: (p) => ports.progress.log(`plan: teacher top-${topK} cache: ${p.summary}`),
  });
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  await ports.artifacts.putFile(key, path, "application/octet-stream", ports.signal);
  ports.progress.log(
    `retrain: computed and stored the teacher's top-${topK} cache ${short} (${tokens} tokens, ${(built.bytes / 1e6).toFixed(1)} MB, ${seconds} s)`,
  );
  return { key, reused: false, tokens, bytes: built.bytes, seconds };
}
