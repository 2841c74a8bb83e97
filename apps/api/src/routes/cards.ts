// GET /v1/versions/:id/card: the model card of a version (JSON, or Markdown on request).
import { buildModelCard } from "@shortened/jobs";
import type { FastifyInstance } from "fastify";
import { teamOf } from "../auth.js";
import type { ApiDeps } from "./context.js";
import { sendCard } from "./sharing.js";

export function cardRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.get<{ Params: { id: string } }>("/v1/versions/:id/card", async (req, reply) =>
    sendCard(req, reply, await buildModelCard(d.db, teamOf(req), req.params.id)),
  );
}
