// /v1/team/secrets (admin): the team's secrets, such as the Hugging Face Hub token used for private or
// gated repositories (POST /v1/models with tokenSecret, pushes). Write-only: set or replace a value, list
// names, delete. No answer, log line or audit entry ever holds a value; values are encrypted at rest
// (SECRETS_KEY, packages/adapters/src/registry/secrets.ts).
import {
  deleteTeamSecret,
  listTeamSecrets,
  putTeamSecret,
  recordAudit,
  type SecretInfo,
  secretsKeyFromEnv,
} from "@shortened/adapters";
import { PutTeamSecretBody, TeamSecret, TeamSecretList, TeamSecretParams } from "@shortened/contracts";
import { keyOf, teamOf } from "../plugins/auth.js";
import { errors, json } from "../route-schema.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["teams"];
const secretJson = (s: SecretInfo) => ({
  name: s.name,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});

export const teamSecretRoutes = v1Routes("team secrets", (app, d) => {
  const key = () => (d.hub ? d.hub.secretsKey : secretsKeyFromEnv());

  app.get(
    "/team/secrets",
    {
      schema: {
        operationId: "listTeamSecrets",
        summary: "the team's secrets: names and dates, never values",
        tags,
        response: { 200: json(TeamSecretList, "the secrets") },
      },
      config: { role: "admin" },
    },
    async (req) => ({ items: (await listTeamSecrets(d.db, teamOf(req))).map(secretJson) }),
  );

  app.put(
    "/team/secrets/:name",
    {
      schema: {
        operationId: "putTeamSecret",
        summary: "set or replace a secret (a Hub token); the value is stored encrypted and never shown again",
        tags,
        params: TeamSecretParams,
        body: PutTeamSecretBody,
        response: {
          200: json(TeamSecret, "the secret's name and dates"),
          ...errors([422, "the operator has not configured SECRETS_KEY"]),
        },
      },
      config: { role: "admin" },
    },
    async (req) => {
      const team = teamOf(req);
      const s = await putTeamSecret(d.db, key(), {
        teamId: team,
        name: req.params.name,
        value: req.body.value,
        keyId: keyOf(req),
      });
      await recordAudit(d.db, {
        teamId: team,
        actorKeyId: keyOf(req),
        action: "team_secret.set",
        targetType: "team_secret",
        targetId: s.name,
        data: { name: s.name },
      });
      return secretJson(s);
    },
  );

  app.delete(
    "/team/secrets/:name",
    {
      schema: {
        operationId: "deleteTeamSecret",
        summary: "delete a secret (models registered with it can no longer be downloaded by workers)",
        tags,
        params: TeamSecretParams,
        response: { 200: json(TeamSecret, "the deleted secret's name and dates"), ...errors(404) },
      },
      config: { role: "admin" },
    },
    async (req) => {
      const team = teamOf(req);
      const s = await deleteTeamSecret(d.db, team, req.params.name);
      await recordAudit(d.db, {
        teamId: team,
        actorKeyId: keyOf(req),
        action: "team_secret.delete",
        targetType: "team_secret",
        targetId: s.name,
        data: { name: s.name },
      });
      return secretJson(s);
    },
  );
});
