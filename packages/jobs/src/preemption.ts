// Why an attempt stops without being the job's failure: its worker is stopping (SIGTERM, a drain, a spot
// reclaim), or a newer attempt took the job over. Handlers that keep state (retrain) save it when their
// worker is stopping, so the next attempt resumes where this one was.

/** The abort reason when the worker stops (SIGTERM): save what can be saved and hand the job back. */
export class WorkerStopping extends Error {
  constructor(why = "the worker is shutting down") {
    super(why);
    this.name = "WorkerStopping";
  }
}

export const isWorkerStopping = (reason: unknown): reason is WorkerStopping =>
  reason instanceof WorkerStopping;

/** The abort reason when a newer attempt of the job started: this one must stop and write nothing. */
export class AttemptSuperseded extends Error {
  constructor(
    readonly jobId: string,
    readonly attempt: number,
  ) {
    super(`attempt ${attempt} of job ${jobId} was superseded by a newer attempt`);
    this.name = "AttemptSuperseded";
  }
}

/** The job lost its worker more often than the bound allows: it fails (no more attempts). */
export class TooManyPreemptions extends Error {
  constructor(jobId: string, preemptions: number, max: number) {
    super(`job ${jobId} was preempted ${preemptions} times (limit ${max}, JOB_MAX_PREEMPTIONS)`);
    this.name = "TooManyPreemptions";
  }
}
