// /v1/webhooks (admin): register a URL for signed job state changes (the signing secret is in the
// creation answer only), list, delete, and see recent deliveries.
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  recordAudit,
} from "@shortened/adapters";
import { CreateWebhookBody } from "@shortened/contracts";
import type { FastifyInstance } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import type { ApiDeps } from "./context.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const webhookJson = (w: { id: string; url: string; states: string[]; active: boolean; createdAt: Date }) => ({
  id: w.id,
  url: w.url,
  states: w.states,
  active: w.active,
  createdAt: iso(w.createdAt),
});

export function webhookRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.post("/v1/webhooks", async (req, reply) => {
    const team = teamOf(req);
    const body = parseWith(CreateWebhookBody, req.body, "body");
    const { row, secret } = await createWebhook(d.db, team, body.url, body.states);
    await recordAudit(d.db, {
      teamId: team,
      actorKeyId: req.principal!.keyId,
      action: "webhook.create",
      targetType: "webhook",
      targetId: row.id,
      data: { host: new URL(row.url).host, states: row.states },
    });
    return reply.status(201).send({ ...webhookJson(row), secret });
  });

  app.get("/v1/webhooks", async (req) => ({
    items: (await listWebhooks(d.db, teamOf(req))).map(webhookJson),
  }));

  app.delete<{ Params: { id: string } }>("/v1/webhooks/:id", async (req) => {
    const team = teamOf(req);
    const w = await deleteWebhook(d.db, team, req.params.id);
    await recordAudit(d.db, {
      teamId: team,
      actorKeyId: req.principal!.keyId,
      action: "webhook.delete",
      targetType: "webhook",
      targetId: w.id,
    });
    return webhookJson(w);
  });

  app.get<{ Params: { id: string } }>("/v1/webhooks/:id/deliveries", async (req) => {
    const w = await getWebhook(d.db, teamOf(req), req.params.id);
    return {
      items: (await listDeliveries(d.db, w.id)).map((x) => ({
        id: x.id,
        jobId: x.jobId,
        eventSeq: x.eventSeq.toString(),
        state: x.state,
        attempts: x.attempts,
        lastStatus: x.lastStatus,
        lastError: x.lastError,
        nextAttemptAt: iso(x.nextAttemptAt),
        deliveredAt: iso(x.deliveredAt),
        payload: x.payload,
      })),
    };
  });
}
