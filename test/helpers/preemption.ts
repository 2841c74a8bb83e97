// Preempting workers during retraining (issue 12 item 4), shared by test/retrain-preemption.e2e.test.ts
// (a bounded run) and bench/faults/preemption.ts (many runs, for the README's figures): a stack with an
// in-process API and worker child processes; one LoRA job runs uninterrupted, then the same spec runs
// again while the worker holding it is killed (-9) or stopped (SIGTERM) after each newly saved state.
// What matters: the interrupted job succeeds with the same sha256 of every output as the uninterrupted
// one, with one version, one metric and one set of artifacts, and counts its preemptions.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { apiCaller, repoRoot, startServiceStack, until } from "./service.js";

export const RETRAIN_SPEC = {
  kind: "retrain",
  model: "tiny@1",
  method: "lora",
  data: { dataset: "alpaca", maxItems: 48 },
  steps: 24,
  batch: 2,
  seqLen: 160,
  lr: 5e-4,
  targets: ["q_proj", "v_proj"],
  checkpointEvery: 2,
  threads: 1,
};

export interface PreemptedRun {
  state: string;
  reason: string | null;
  attempts: number;
  preemptions: number;
  kills: number;
  sigterms: number;
  /** name -> sha256 of the output version's files and the job's artifacts */
  outputs: Record<string, string>;
  versions: number;
  metrics: number;
  artifactRows: number;
  resumedFrom: number[];
}

export interface PreemptionStack {
  /** Runs RETRAIN_SPEC, interrupting its worker `plan` in order ("kill" = -9, "term" = SIGTERM). */
  run(plan: ("kill" | "term")[]): Promise<PreemptedRun>;
  close(): Promise<void>;
}

export async function preemptionStack(o: { workers?: number } = {}): Promise<PreemptionStack> {
  const stack = await startServiceStack({
    bucket: "preempt",
    workers: o.workers ?? 2,
    env: { SHUTDOWN_GRACE_MS: "20000" },
  });
  const { api, db, apiKey, workers, spawnWorker } = stack;
  const call = apiCaller(
    () => api.url,
    () => apiKey,
  );

  const tar = execFileSync("tar", ["-cf", "-", "-C", join(repoRoot, "models", "tinystories-llama-8L"), "."], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const up = await fetch(`${api.url}/v1/models/upload?name=tiny`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/x-tar" },
    body: tar,
  });
  if (up.status !== 201) {
    const text = await up.text();
    await stack.close();
    throw new Error(`upload: ${up.status} ${text}`);
  }

  const savedSteps = async (id: string) =>
    (await call("GET", `/v1/jobs/${id}/events?limit=1000`)).body.items.filter(
      (e: { data: { line?: string } }) => /state saved at step/.test(e.data?.line ?? ""),
    ).length;
  const owner = async (id: string) => {
    const row = await db.prisma.job.findUniqueOrThrow({ where: { id } });
    if (row.state !== "running") return null;
    // The worker whose latest "job started" line is this job's current attempt.
    return (
      workers.find(
        (w) =>
          w.child.exitCode === null &&
          w.child.signalCode === null &&
          w.lines.some((l) => l.msg === "job started" && l.jobId === id && l.attempt === row.attempts),
      ) ?? null
    );
  };

  const run = async (plan: ("kill" | "term")[]): Promise<PreemptedRun> => {
    const r = await call("POST", "/v1/jobs", RETRAIN_SPEC);
    if (r.status !== 201) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
    const id = r.body.id as string;
    let kills = 0;
    let sigterms = 0;
    for (const how of plan) {
      // Wait for a state saved by the current attempt (one more than so far), then stop its worker.
      const before = await savedSteps(id);
      const w = await until(
        "a new saved state",
        async () => ((await savedSteps(id)) > before ? await owner(id) : null),
        180_000,
        100,
      );
      const job = (await call("GET", `/v1/jobs/${id}`)).body;
      if (job.state !== "running") break; // it finished first
      spawnWorker();
      if (how === "kill") {
        w.child.kill("SIGKILL");
        kills++;
      } else {
        w.child.kill("SIGTERM");
        sigterms++;
      }
      await w.exited;
      workers.splice(workers.indexOf(w), 1);
    }
    const done = await until(
      "the job to finish",
      async () => {
        const j = (await call("GET", `/v1/jobs/${id}`)).body;
        return ["succeeded", "failed", "cancelled"].includes(j.state) ? j : null;
      },
      300_000,
    );
    const artifacts = await db.prisma.artifact.findMany({
      where: { OR: [{ jobId: id }, { version: { producedByJobId: id } }] },
    });
    const outputs: Record<string, string> = {};
    for (const a of artifacts) outputs[`${a.versionId ? "version/" : ""}${a.name}`] = a.sha256;
    return {
      state: done.state,
      reason: done.reason,
      attempts: done.attempts,
      preemptions: done.preemptions,
      kills,
      sigterms,
      outputs,
      versions: await db.prisma.modelVersion.count({ where: { producedByJobId: id } }),
      metrics: await db.prisma.metric.count({ where: { jobId: id } }),
      artifactRows: artifacts.length,
      resumedFrom: (done.result?.phases ?? []).map((p: { resumedFrom: number }) => p.resumedFrom),
    };
  };

  return { run, close: stack.close };
}
