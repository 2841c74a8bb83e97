// /v1/team and /v1/keys: the caller's team and its API keys. A new or rotated key is shown once.
import { createApiKey, listApiKeys, recordAudit, revokeApiKey, rotateApiKey } from "@shortened/adapters";
import {
  ApiKeyInfo,
  ApiKeyList,
  CreateApiKeyBody,
  CreatedApiKey,
  RotatedApiKey,
  RotateKeyBody,
  TeamInfo,
} from "@shortened/contracts";
import { keyOf, teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { keyJson } from "../serialize.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["teams"];
const params = idParam("key id");

export const teamRoutes = v1Routes("teams", (app, d) => {
  app.get(
    "/team",
    {
      schema: {
        operationId: "getTeam",
        summary: "the caller's team, and the calling key's role",
        tags,
        response: { 200: json(TeamInfo, "the team") },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = await d.db.team.findUniqueOrThrow({ where: { id: teamOf(req) } });
      return {
        id: team.id,
        name: team.name,
        createdAt: team.createdAt.toISOString(),
        role: req.principal!.role,
      };
    },
  );

  app.get(
    "/keys",
    {
      schema: {
        operationId: "listKeys",
        summary: "the team's API keys (without the keys themselves)",
        tags,
        response: { 200: json(ApiKeyList, "the keys") },
      },
      config: { role: "member" },
    },
    async (req) => ({ items: (await listApiKeys(d.db, teamOf(req))).map(keyJson) }),
  );

  app.post(
    "/keys",
    {
      schema: {
        operationId: "createKey",
        summary: "create an API key (shown once)",
        tags,
        body: CreateApiKeyBody.prefault({}),
        response: { 201: json(CreatedApiKey, "the new key, with the key itself (shown once)") },
      },
      config: {
        role: "admin",
        audit: { action: "key.create", targetType: "key", status: 201, pick: ["name", "role", "prefix"] },
      },
    },
    async (req, reply) => {
      const { row, apiKey } = await createApiKey(d.db, teamOf(req), req.body.name, req.body.role);
      return reply.status(201).send({ ...keyJson(row), apiKey });
    },
  );

  app.delete(
    "/keys/:id",
    {
      schema: {
        operationId: "revokeKey",
        summary: "revoke an API key now",
        tags,
        params,
        response: { 200: json(ApiKeyInfo, "the revoked key"), ...errors(404) },
      },
      config: {
        role: "admin",
        audit: { action: "key.revoke", targetType: "key", status: 200, pick: ["name", "role"] },
      },
    },
    async (req) => keyJson(await revokeApiKey(d.db, teamOf(req), req.params.id)),
  );

  app.post(
    "/keys/:id/rotate",
    {
      schema: {
        operationId: "rotateKey",
        summary:
          "rotate a key: a new key (shown once) with the same name and role; the old one stops now or after graceSeconds",
        tags,
        params,
        body: RotateKeyBody.prefault({}),
        response: {
          201: json(RotatedApiKey, "the new key (shown once) and the retired one"),
          ...errors(404, [409, "the key is already revoked"]),
        },
      },
      config: { role: "admin" },
    },
    async (req, reply) => {
      const team = teamOf(req);
      const { graceSeconds } = req.body;
      const { row, apiKey, retired } = await rotateApiKey(d.db, team, req.params.id, graceSeconds);
      await recordAudit(d.db, {
        teamId: team,
        actorKeyId: keyOf(req),
        action: "key.rotate",
        targetType: "key",
        targetId: retired.id,
        data: { newKeyId: row.id, graceSeconds },
      });
      return reply.status(201).send({ ...keyJson(row), apiKey, retired: keyJson(retired) });
    },
  );
});
