// /v1/artifacts: an artifact and a presigned download URL for it.
import { getArtifact, hubConfigFromEnv } from "@shortened/adapters";
import { Artifact, ArtifactUrl, ArtifactUrlQuery } from "@shortened/contracts";
import { teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { artifactJson } from "../serialize.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["artifacts"];
const params = idParam("artifact id");

export const artifactRoutes = v1Routes("artifacts", (app, d) => {
  app.get(
    "/artifacts/:id",
    {
      schema: {
        operationId: "getArtifact",
        summary: "an artifact",
        tags,
        params,
        response: { 200: json(Artifact, "the artifact"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => artifactJson(await getArtifact(d.db, teamOf(req), req.params.id)),
  );

  app.get(
    "/artifacts/:id/url",
    {
      schema: {
        operationId: "getArtifactUrl",
        summary: "a presigned download URL for an artifact",
        tags,
        params,
        querystring: ArtifactUrlQuery,
        response: { 200: json(ArtifactUrl, "the URL and when it expires"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const a = await getArtifact(d.db, teamOf(req), req.params.id);
      const expires = req.query.expires ?? d.urlExpirySeconds;
      // Files of a model registered from the Hub stay there: the URL is the Hub's, at the pinned commit.
      const hub = /^hf:\/\/([^@]+)@([0-9a-f]{40})\/([^#]+)/.exec(a.key);
      const url = hub
        ? `${(d.hub?.config ?? hubConfigFromEnv()).endpoint}/${hub[1]}/resolve/${hub[2]}/${hub[3]}`
        : await d.store.downloadUrl(a.key, expires);
      return {
        url,
        expiresAt: new Date(Date.now() + expires * 1000).toISOString(),
        artifact: artifactJson(a),
      };
    },
  );
});
