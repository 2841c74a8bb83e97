// /v1/versions: a model version, its lineage, files, metrics and model card.

import { join } from "node:path";
import { getVersion, hubDepsFromEnv, lineage, listArtifacts, listMetrics } from "@shortened/adapters";
import {
  ArtifactList,
  CardQuery,
  Lineage,
  MetricList,
  ModelVersion,
  PushResult,
  PushVersionBody,
} from "@shortened/contracts";
import { buildModelCard, pushVersion } from "@shortened/jobs";
import { teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { artifactJson, metricJson, versionJson } from "../serialize.js";
import { cardAnswer, sendCard } from "./model-card.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["models"];
const params = idParam("version id");

export const versionRoutes = v1Routes("versions", (app, d) => {
  app.post(
    "/versions/:id/push",
    {
      schema: {
        operationId: "pushVersion",
        summary:
          "publish a version to the Hugging Face Hub: its checkpoint and a model card README.md, the lineage in the commit message",
        tags: ["versions"],
        params: idParam("version id"),
        body: PushVersionBody,
        response: {
          201: json(PushResult, "the repository and the commit"),
          ...errors(
            404,
            [
              422,
              "the license forbids publishing derivatives, or the Hub refused the token (hub_unauthorized, hub_gated)",
            ],
            [502, "the Hub could not be reached"],
          ),
        },
      },
      config: {
        role: "admin",
        audit: { action: "version.push", targetType: "version", status: 201, pick: ["repo", "commit"] },
      },
    },
    async (req, reply) => {
      const hub = d.hub ?? hubDepsFromEnv();
      const r = await pushVersion(d.db, d.store, teamOf(req), req.params.id, req.body, {
        hub,
        cacheDir: join(hub.cache.dir, "..", "shortened-push"),
      });
      return reply.status(201).send(r);
    },
  );

  app.get(
    "/versions/:id",
    {
      schema: {
        operationId: "getVersion",
        summary: "a model version",
        tags,
        params,
        response: { 200: json(ModelVersion, "the version"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => versionJson(await getVersion(d.db, teamOf(req), req.params.id)),
  );

  app.get(
    "/versions/:id/lineage",
    {
      schema: {
        operationId: "getVersionLineage",
        summary: "the ancestors and children of a version",
        tags,
        params,
        response: { 200: json(Lineage, "the version and its relatives"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const l = await lineage(d.db, teamOf(req), req.params.id);
      return {
        version: versionJson(l.version),
        ancestors: l.ancestors.map(versionJson),
        children: l.children.map(versionJson),
      };
    },
  );

  app.get(
    "/versions/:id/artifacts",
    {
      schema: {
        operationId: "listVersionArtifacts",
        summary: "the files of a version",
        tags,
        params,
        response: { 200: json(ArtifactList, "the version's files"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const v = await getVersion(d.db, team, req.params.id);
      return { items: (await listArtifacts(d.db, team, { versionId: v.id })).map(artifactJson) };
    },
  );

  app.get(
    "/versions/:id/metrics",
    {
      schema: {
        operationId: "listVersionMetrics",
        summary: "metrics of a version, each with its protocol",
        tags,
        params,
        response: { 200: json(MetricList, "the version's metrics"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const v = await getVersion(d.db, team, req.params.id);
      return { items: (await listMetrics(d.db, team, { versionId: v.id })).map(metricJson) };
    },
  );

  app.get(
    "/versions/:id/card",
    {
      schema: {
        operationId: "getModelCard",
        summary:
          "the model card of a version (JSON; Markdown with ?format=markdown or Accept: text/markdown)",
        tags: ["registry"],
        params,
        querystring: CardQuery,
        response: { 200: cardAnswer, ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req, reply) => sendCard(req, reply, await buildModelCard(d.db, teamOf(req), req.params.id)),
  );
});
