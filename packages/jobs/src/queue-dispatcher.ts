// Service mode: jobs go to BullMQ (a queue per kind; pipelines as flows).

import type { JobQueues } from "@shortened/adapters";
import type { JobKind } from "@shortened/contracts";
import type { Dispatcher, DispatchJob } from "./submit.js";

export class QueueDispatcher implements Dispatcher {
  constructor(private readonly queues: JobQueues) {}

  dispatch(jobs: DispatchJob[], retry = false): Promise<void> {
    return this.queues.add(jobs, retry);
  }

  async cancel(_jobId: string, _kind: JobKind): Promise<void> {
    // The cancel request is in the database: a waiting job ends as soon as a worker picks it up
    // (without running), a running one within a poll interval.
  }
}
