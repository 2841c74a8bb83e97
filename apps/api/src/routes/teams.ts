// /v1/team and /v1/keys: the caller's team and its API keys (a new key is shown once).

import { createApiKey, listApiKeys, revokeApiKey } from "@shortened/adapters";
import { CreateApiKeyBody, UserError } from "@shortened/contracts";
import type { FastifyInstance } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import { keyJson } from "../serialize.js";
import type { ApiDeps } from "./context.js";

export function teamRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.get("/v1/team", async (req) => {
    const team = await d.db.team.findUniqueOrThrow({ where: { id: teamOf(req) } });
    return {
      id: team.id,
      name: team.name,
      createdAt: team.createdAt.toISOString(),
      role: req.principal!.role,
    };
  });

  app.get("/v1/keys", async (req) => ({ items: (await listApiKeys(d.db, teamOf(req))).map(keyJson) }));

  app.post("/v1/keys", async (req, reply) => {
    if (req.principal!.role !== "admin")
      throw new UserError("forbidden", "only admin keys can create keys", 403);
    const body = parseWith(CreateApiKeyBody, req.body, "body");
    const { row, apiKey } = await createApiKey(d.db, teamOf(req), body.name, body.role);
    return reply.status(201).send({ ...keyJson(row), apiKey });
  });

  app.delete<{ Params: { id: string } }>("/v1/keys/:id", async (req) => {
    if (req.principal!.role !== "admin")
      throw new UserError("forbidden", "only admin keys can revoke keys", 403);
    return keyJson(await revokeApiKey(d.db, teamOf(req), req.params.id));
  });
}
