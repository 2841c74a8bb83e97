// evaluate task "zeroshot": the paper's zero-shot multiple-choice tasks scored as lm-evaluation-harness
// 3326c54 does. One metric per task and score (acc, acc_norm where the harness defines it), plus the paper's
// average; each carries its protocol (harness commit, BOS policy, task file sha256, split, limit, n, tokenizer
// hash, software). zeroshot.json keeps the table, the notes (e.g. BoolQ without passages) and every item's scores.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  type EvaluateZeroShotSpec,
  type MetricOutput,
  type Ports,
  UserError,
  zeroShotTaskNames,
} from "@shortened/contracts";
import { type AccuracyLevel, zeroShot } from "@shortened/engine";
import { evalDataDir, missingTaskLine, tasksWithData, type ZeroShotTaskName } from "@shortened/hf";
import type { ZeroShotSection, ZeroShotTaskRow } from "../report.js";
import type { TaskOutcome } from "./evaluate-outcome.js";
import { teamFileToLocal } from "./team-file.js";

/** The shipped task files (data/zeroshot, see its PROVENANCE.md); SHORTENED_DATA_DIR overrides data/. */
export function zeroShotDataDir(): string {
  return join(dirname(evalDataDir()), "zeroshot");
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Every file a task read: its file, and PIQA's separate labels file. */
async function taskFiles(file: string): Promise<{ file: string; sha256: string }[]> {
  const files = [file];
  const labels = file.replace(/\.jsonl$/, "-labels.lst");
  if (labels !== file && existsSync(labels)) files.push(labels);
  return Promise.all(files.map(async (f) => ({ file: basename(f), sha256: await sha256(f) })));
}

/** The spec's `taskFiles`, copied from the artifact store under their own names (with PIQA's labels file). */
async function teamTaskFiles(
  spec: EvaluateZeroShotSpec,
  ports: Ports,
): Promise<Partial<Record<ZeroShotTaskName, string>>> {
  const out: Partial<Record<ZeroShotTaskName, string>> = {};
  for (const [task, key] of Object.entries(spec.taskFiles ?? {}) as [ZeroShotTaskName, string][]) {
    if (spec.tasks && !spec.tasks.includes(task)) continue;
    const folder = join(ports.context.workDir, "zeroshot", task);
    await mkdir(folder, { recursive: true });
    const local = await teamFileToLocal(key, ports, `taskFiles.${task}`, "task");
    out[task] = join(folder, basename(key));
    await rename(local, out[task]);
    const labels = key.replace(/\.jsonl$/, "-labels.lst");
    if (labels !== key && (await ports.artifacts.list(labels)).some((o) => o.key === labels))
      await ports.artifacts.getToFile(labels, join(folder, basename(labels)), ports.signal);
  }
  return out;
}

export async function evaluateZeroShot(
  spec: EvaluateZeroShotSpec,
  ports: Ports,
  dir: string,
): Promise<TaskOutcome<ZeroShotSection>> {
  // No task list: every task whose data is here (a listed task without data was refused at submission).
  const dataDir = zeroShotDataDir();
  const own = await teamTaskFiles(spec, ports);
  const { present, missing } = spec.tasks
    ? { present: spec.tasks, missing: [] }
    : tasksWithData(
        dataDir,
        zeroShotTaskNames.filter((t) => !own[t]),
      );
  const tasks = spec.tasks ?? zeroShotTaskNames.filter((t) => present.includes(t) || own[t]);
  if (!tasks.length) throw new UserError("not_found", `no zero-shot task has its data in ${dataDir}`, 404);
  const missingNotes = missing.map((t) => `${missingTaskLine(t)}: not run, its data is not on this worker`);
  for (const n of missingNotes) ports.progress.log(`note: ${n}`);
  // zeroShot reads and checks every task file before it loads the model: bad data fails before any compute.
  const r = await zeroShot({
    model: dir,
    tasks,
    dataDir,
    taskFiles: own,
    limit: spec.limit,
    strategy: spec.strategy,
    bos: spec.bos,
    device: ports.context.device,
    dtype: spec.dtype,
    threads: spec.threads,
    memoryBudget: spec.memoryBudget,
    accuracyLevel: spec.accuracyLevel as AccuracyLevel | undefined,
    onPlan: (plan: { summary: string }) => ports.progress.log(`plan: ${plan.summary}`),
    signal: ports.signal,
    onProgress: (done, total) =>
      ports.progress.progress(total > 0 ? done / total : 0, "zero-shot", {
        step: done,
        totalSteps: total,
        phase: "zero-shot",
      }),
  });
  ports.signal.throwIfAborted();
  const common = {
    task: "zeroshot",
    harness: r.protocol.harness,
    bos: r.protocol.bos,
    num_fewshot: r.protocol.num_fewshot,
    max_length: r.protocol.max_length,
    limit: r.protocol.limit,
    tokenizerHash: r.protocol.tokenizer_sha256,
    dtype: r.protocol.dtype,
    software: r.protocol.software,
  };
  const metrics: MetricOutput[] = [];
  const rows: Record<string, ZeroShotTaskRow> = {};
  const files: Record<string, { file: string; sha256: string }[]> = {};
  for (const [name, t] of Object.entries(r.tasks)) {
    if (!t) continue;
    files[name] = await taskFiles(t.file);
    // A note about a task (BoolQ without passages) is part of what was measured, so it is in the protocol.
    const notes = r.notes.filter((n) => n.startsWith(`${name}:`));
    const protocol = {
      ...common,
      benchmark: name,
      split: t.split,
      n: t.n,
      taskFiles: files[name],
      ...(notes.length ? { notes } : {}),
    };
    metrics.push({ name: `zeroshot_${name}_acc`, value: t.acc, protocol });
    if (t.acc_norm !== null) metrics.push({ name: `zeroshot_${name}_acc_norm`, value: t.acc_norm, protocol });
    rows[name] = {
      acc: t.acc,
      acc_norm: t.acc_norm,
      n: t.n,
      metric: t.metric,
      value: t.value,
      split: t.split,
    };
    ports.progress.log(
      `zero-shot ${name}: acc ${t.acc.toFixed(4)}${t.acc_norm === null ? "" : ` acc_norm ${t.acc_norm.toFixed(4)}`} (n ${t.n})`,
    );
  }
  const averageProtocol = {
    ...common,
    benchmark: "average",
    averageOf: Object.entries(rows).map(([name, t]) => ({ task: name, metric: t.metric, n: t.n })),
    taskFiles: Object.values(files).flat(),
  };
  metrics.push({ name: "zeroshot_average", value: r.average, protocol: averageProtocol });
  for (const n of r.notes) ports.progress.log(`note: ${n}`);

  const notes = [...r.notes, ...missingNotes];
  const protocol = { ...common, strategy: spec.strategy, taskFiles: files };
  const file = join(ports.context.workDir, "zeroshot.json");
  const table = Object.fromEntries(
    Object.entries(rows).map(([name, t]) => [name, { ...t, files: files[name] }]),
  );
  await writeFile(
    file,
    JSON.stringify(
      {
        tasks: table,
        average: r.average,
        missingTasks: missing,
        notes,
        protocol,
        plan: r.plan,
        items: r.items,
      },
      null,
      2,
    ),
  );
  return {
    artifacts: [{ name: "zeroshot.json", path: file, contentType: "application/json" }],
    metrics,
    summary: { tasks: rows, average: r.average, missingTasks: missing, notes, protocol },
    section: { kind: "zeroshot", tasks: rows, average: r.average, missingTasks: missing, notes, protocol },
  };
}
