// The child process side of job-process.ts: opens the database and the artifact store from the worker's
// environment, runs attempts with runJob, and reports each attempt number and outcome over IPC. It
// ends with its parent (a worker killed -9 leaves no attempt running on its own) and leaves signals to
// the parent, which forwards a stop as an abort.
import { type OpenedDb, openPostgres, S3Store } from "@shortened/adapters";
import { runJob } from "@shortened/jobs";
import { type FromChild, fromWire, type ToChild, toWire } from "./job-process.js";

const send = (m: FromChild) => new Promise<void>((res) => process.send!(m, undefined, {}, () => res()));

process.on("disconnect", () => process.exit(0));
const store = S3Store.fromEnv();
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});

// One attempt at a time (the parent sends the next run only after this one answered).
let controller = new AbortController();
let db: OpenedDb | null = null;
process.on("message", async (m: ToChild) => {
  if (m.type === "abort") {
    controller.abort(fromWire(m.reason));
    return;
  }
  controller = new AbortController();
  try {
    db ??= await openPostgres(process.env.DATABASE_URL!, { migrate: "skip" });
    const outcome = await runJob(
      {
        db: db.prisma,
        store,
        cacheDir: m.cacheDir,
        versionCacheMaxBytes: m.versionCacheMaxBytes,
        signal: controller.signal,
        maxPreemptions: m.maxPreemptions,
        device: m.device,
        outbox: true,
        onAttempt: (attempt) => void send({ type: "attempt", attempt }),
      },
      m.jobId,
    );
    await send({ type: "done", outcome });
  } catch (e) {
    await send({ type: "error", error: toWire(e) });
  }
});
void send({ type: "ready" });
