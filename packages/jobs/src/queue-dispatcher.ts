// Service mode: a submission's transaction writes its dispatch to the job outbox, and the relay moves it
// to BullMQ (a queue per kind; pipelines as flows). Dispatching is only a nudge to the relay, so
// submitting never waits for Redis.

import type { JobKind } from "@shortened/contracts";
import type { QueueRelay } from "./queue-relay.js";
import type { Dispatcher } from "./submit.js";

export class QueueDispatcher implements Dispatcher {
  readonly outbox = true;

  constructor(private readonly relay: QueueRelay) {}

  async dispatch(): Promise<void> {
    this.relay.kick();
  }

  async cancel(_jobId: string, _kind: JobKind): Promise<void> {
    // The cancel request is in the database: a waiting job ends as soon as a worker picks it up
    // (without running), a running one within a poll interval.
  }
}
