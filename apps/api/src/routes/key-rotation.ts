// POST /v1/keys/:id/rotate (admin): a new key (shown once) with the same name and role; the old one is
// revoked now or after graceSeconds.
import { recordAudit, rotateApiKey } from "@shortened/adapters";
import { RotateKeyBody } from "@shortened/contracts";
import type { FastifyInstance } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import { keyJson } from "../serialize.js";
import type { ApiDeps } from "./context.js";

export function keyRotationRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.post<{ Params: { id: string } }>("/v1/keys/:id/rotate", async (req, reply) => {
    const team = teamOf(req);
    const body = parseWith(RotateKeyBody, req.body, "body");
    const { row, apiKey, retired } = await rotateApiKey(d.db, team, req.params.id, body.graceSeconds);
    await recordAudit(d.db, {
      teamId: team,
      actorKeyId: req.principal!.keyId,
      action: "key.rotate",
      targetType: "key",
      targetId: retired.id,
      data: { newKeyId: row.id, graceSeconds: body.graceSeconds },
    });
    return reply.status(201).send({ ...keyJson(row), apiKey, retired: keyJson(retired) });
  });
}
