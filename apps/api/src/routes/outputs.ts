// /v1/artifacts (presigned download URLs) and /v1/metrics (each value with its protocol).

import { getArtifact, listMetrics } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import type { FastifyInstance } from "fastify";
import { teamOf } from "../auth.js";
import { artifactJson, metricJson } from "../serialize.js";
import type { ApiDeps } from "./context.js";

export function outputRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.get<{ Params: { id: string } }>("/v1/artifacts/:id", async (req) =>
    artifactJson(await getArtifact(d.db, teamOf(req), req.params.id)),
  );

  app.get<{ Params: { id: string }; Querystring: { expires?: string } }>(
    "/v1/artifacts/:id/url",
    async (req) => {
      const a = await getArtifact(d.db, teamOf(req), req.params.id);
      const expires = req.query.expires === undefined ? d.urlExpirySeconds : Number(req.query.expires);
      if (!Number.isInteger(expires) || expires < 1 || expires > 7 * 24 * 3600)
        throw new UserError("bad_request", "expires must be 1..604800 seconds");
      const url = await d.store.downloadUrl(a.key, expires);
      return {
        url,
        expiresAt: new Date(Date.now() + expires * 1000).toISOString(),
        artifact: artifactJson(a),
      };
    },
  );

  app.get<{ Querystring: { versionId?: string; jobId?: string; name?: string } }>(
    "/v1/metrics",
    async (req) => {
      const { versionId, jobId, name } = req.query;
      return { items: (await listMetrics(d.db, teamOf(req), { versionId, jobId, name })).map(metricJson) };
    },
  );
}
