// Interactive jobs: a playground generation (an `evaluate` job with `task: "generate"` of its own, not a
// pipeline step) is short and someone is watching its tokens arrive. It goes to a queue of its own
// (`jobs-evaluate-interactive`), which workers serve with slots of their own (WORKER_INTERACTIVE_SLOTS), so
// it never waits behind long retrains or evaluations, neither in the queue nor for a worker's slot.
import type { JobKind } from "@shortened/contracts";

/** Whether a job's dispatch goes to its kind's interactive queue. */
export function isInteractiveJob(j: { kind: string; spec?: unknown; parentJobId: string | null }): boolean {
  const spec = (j.spec ?? {}) as { task?: unknown };
  return j.kind === "evaluate" && spec.task === "generate" && j.parentJobId === null;
}

/** The kinds that have an interactive queue. */
export const interactiveKinds: readonly JobKind[] = ["evaluate"];
