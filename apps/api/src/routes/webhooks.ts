// /v1/webhooks (admin): register a URL for signed job state changes (the signing secret is in the
// creation answer only), list, delete, and see recent deliveries.
import {
  createWebhook,
  deleteWebhook,
  destinationUrlProblem,
  getWebhook,
  listDeliveries,
  listWebhooks,
  recordAudit,
} from "@shortened/adapters";
import {
  CreatedWebhook,
  CreateWebhookBody,
  UserError,
  Webhook,
  WebhookDeliveryList,
  WebhookList,
} from "@shortened/contracts";
import type { z } from "zod";
import { teamOptions } from "../deps.js";
import { keyOf, teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["webhooks"];
const params = idParam("webhook id");
const iso = (d: Date | null) => (d ? d.toISOString() : null);
const webhookJson = (w: {
  id: string;
  url: string;
  states: string[];
  active: boolean;
  createdAt: Date;
}): z.output<typeof Webhook> => ({
  id: w.id,
  url: w.url,
  states: w.states as z.output<typeof Webhook>["states"],
  active: w.active,
  createdAt: w.createdAt.toISOString(),
});

export const webhookRoutes = v1Routes("webhooks", (app, d) => {
  const destinations = teamOptions(d).destinations;
  app.post(
    "/webhooks",
    {
      schema: {
        operationId: "createWebhook",
        summary: "register a webhook; the answer holds its signing secret, shown once",
        tags,
        body: CreateWebhookBody,
        response: {
          201: json(CreatedWebhook, "the webhook with its signing secret (shown once)"),
          ...errors([
            422,
            "the URL is refused: not https, or not a public destination (WEBHOOK_ALLOWED_DESTINATIONS admits internal ones)",
          ]),
        },
      },
      config: { role: "admin" },
    },
    async (req, reply) => {
      const team = teamOf(req);
      const problem = destinationUrlProblem(req.body.url, destinations);
      if (problem) throw new UserError("invalid_webhook_url", `webhook URL refused: ${problem}`, 422);
      const { row, secret } = await createWebhook(d.db, team, req.body.url, req.body.states);
      await recordAudit(d.db, {
        teamId: team,
        actorKeyId: keyOf(req),
        action: "webhook.create",
        targetType: "webhook",
        targetId: row.id,
        data: { host: new URL(row.url).host, states: row.states },
      });
      return reply.status(201).send({ ...webhookJson(row), secret });
    },
  );

  app.get(
    "/webhooks",
    {
      schema: {
        operationId: "listWebhooks",
        summary: "the team's webhooks (without their secrets)",
        tags,
        response: { 200: json(WebhookList, "the webhooks") },
      },
      config: { role: "admin" },
    },
    async (req) => ({ items: (await listWebhooks(d.db, teamOf(req))).map(webhookJson) }),
  );

  app.delete(
    "/webhooks/:id",
    {
      schema: {
        operationId: "deleteWebhook",
        summary: "delete a webhook",
        tags,
        params,
        response: { 200: json(Webhook, "the deleted webhook"), ...errors(404) },
      },
      config: { role: "admin" },
    },
    async (req) => {
      const team = teamOf(req);
      const w = await deleteWebhook(d.db, team, req.params.id);
      await recordAudit(d.db, {
        teamId: team,
        actorKeyId: keyOf(req),
        action: "webhook.delete",
        targetType: "webhook",
        targetId: w.id,
      });
      return webhookJson(w);
    },
  );

  app.get(
    "/webhooks/:id/deliveries",
    {
      schema: {
        operationId: "listWebhookDeliveries",
        summary: "recent deliveries of a webhook, each attempt's status",
        tags,
        params,
        response: { 200: json(WebhookDeliveryList, "the deliveries"), ...errors(404) },
      },
      config: { role: "admin" },
    },
    async (req) => {
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
    },
  );
});
