// Sends webhook deliveries: job state events become pending deliveries, each POSTed with an HMAC-SHA256
// signature (`Shortened-Signature: t=<unix>,v1=<hex>` over "<t>.<body>"), retried with exponential
// backoff until a 2xx answer or maxAttempts. Runs in every API replica; claims keep attempts single.
// Deliveries may arrive out of order after retries: receivers order them by `seq`. Each POST goes through
// the destination guard (packages/adapters/src/net): only admitted addresses, checked at connect time.
import {
  claimDueDeliveries,
  type DestinationPolicy,
  DestinationRefused,
  enqueueDeliveries,
  guardedPost,
  markAttemptFailed,
  markDelivered,
  type PrismaClient,
  signWebhook,
} from "@shortened/adapters";
import type { FastifyBaseLogger } from "fastify";

export interface WebhookOptions {
  pollMs: number;
  /** First retry delay; doubles with each attempt (capped at one hour). */
  backoffMs: number;
  maxAttempts: number;
  timeoutMs: number;
}

export class WebhookDeliverer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: PrismaClient,
    private readonly o: WebhookOptions,
    private readonly destinations: DestinationPolicy,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((e) => this.log.error({ err: e }, "webhook delivery round failed"))
        .finally(() => this.schedule(this.o.pollMs));
    }, ms);
  }

  /** One round: new state changes become deliveries; due deliveries are sent. */
  async tick(): Promise<void> {
    await enqueueDeliveries(this.db);
    const due = await claimDueDeliveries(this.db, this.o.timeoutMs * 2);
    await Promise.all(due.map((d) => this.send(d)));
  }

  private async send(d: Awaited<ReturnType<typeof claimDueDeliveries>>[number]): Promise<void> {
    const body = JSON.stringify({ id: d.id, ...(d.payload as Record<string, unknown>) });
    let status: number | null = null;
    let error = "";
    try {
      status = await guardedPost(d.webhook.url, {
        headers: {
          "content-type": "application/json",
          "user-agent": "shortened-webhooks/1",
          "shortened-signature": signWebhook(d.webhook.secret, body),
          "shortened-delivery": d.id,
          "shortened-event": "job.state_changed",
        },
        body,
        timeoutMs: this.o.timeoutMs,
        policy: this.destinations,
      });
      if (status >= 200 && status < 300) {
        await markDelivered(this.db, d.id, status);
        this.log.info(
          { deliveryId: d.id, webhookId: d.webhookId, jobId: d.jobId, status },
          "webhook delivered",
        );
        return;
      }
      error = `answered ${status}`;
    } catch (e) {
      error =
        e instanceof DestinationRefused
          ? `refused: ${e.message}`
          : (e as Error).name === "TimeoutError"
            ? `no answer in ${this.o.timeoutMs} ms`
            : (e as Error).message;
    }
    // A refused destination stays refused: no retries.
    const last = d.attempts >= this.o.maxAttempts || error.startsWith("refused:");
    const delay = Math.min(this.o.backoffMs * 2 ** (d.attempts - 1), 3600_000);
    await markAttemptFailed(this.db, d.id, {
      status,
      error,
      retryAt: last ? null : new Date(Date.now() + delay),
    });
    this.log.warn(
      {
        deliveryId: d.id,
        webhookId: d.webhookId,
        jobId: d.jobId,
        attempt: d.attempts,
        status,
        error,
        final: last,
      },
      "webhook delivery failed",
    );
  }
}
