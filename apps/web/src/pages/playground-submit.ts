// One "Generate" in the playground: a job per column, submitted together. "Cancel all" may come while the
// submissions are still in flight, before any job id is known: a user expects the jobs being created to be
// cancelled too, so the request is remembered and each job created is cancelled as soon as its id is known.

/** A column of the playground: its version's label, and its job once the submission answered. */
export interface Run {
  label: string;
  /** unset while the submission is in flight */
  jobId?: string;
  /** "Cancel all" was asked for before the job existed */
  cancelAsked?: boolean;
}

export class Submission {
  private cancelAsked = false;
  /** the cancels sent, by job id (each job once) */
  private readonly cancels = new Map<string, Promise<void>>();

  constructor(private readonly cancel: (jobId: string) => Promise<void>) {}

  /** "Cancel all" during the submission: every job it creates is cancelled once created. */
  cancelAll(): void {
    this.cancelAsked = true;
  }

  private cancelOnce(jobId: string): void {
    if (!this.cancels.has(jobId)) this.cancels.set(jobId, this.cancel(jobId));
  }

  /**
   * Submits one job per label (`submit` answers its id); resolves when every submission answered, with the
   * columns of the jobs created, the first error (a column whose submission failed is left out), and the
   * cancels sent because "Cancel all" came first (settled when they answered).
   */
  async run(
    labels: string[],
    submit: (i: number) => Promise<string>,
  ): Promise<{ runs: Run[]; error?: unknown; cancels: Promise<void> }> {
    const answers = await Promise.allSettled(
      labels.map(async (_, i) => {
        const jobId = await submit(i);
        if (this.cancelAsked) this.cancelOnce(jobId);
        return jobId;
      }),
    );
    const runs: Run[] = [];
    for (const [i, a] of answers.entries())
      if (a.status === "fulfilled") runs.push({ label: labels[i]!, jobId: a.value });
    // Asked for after some jobs' answers but before the last one: those are cancelled now.
    if (this.cancelAsked) for (const r of runs) this.cancelOnce(r.jobId!);
    const failed = answers.find((a) => a.status === "rejected");
    return {
      runs,
      ...(failed ? { error: failed.reason } : {}),
      cancels: Promise.all(this.cancels.values()).then(() => {}),
    };
  }
}
