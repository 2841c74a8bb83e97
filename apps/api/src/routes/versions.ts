// /v1/versions: a model version, its lineage, files, metrics and model card.

import { getVersion, lineage, listArtifacts, listMetrics } from "@shortened/adapters";
import {
  ArtifactList,
  CardQuery,
  Job,
  Lineage,
  MetricList,
  ModelVersion,
  PushVersionBody,
} from "@shortened/contracts";
import { buildModelCard, pushRefusal, submitJob } from "@shortened/jobs";
import { z } from "zod";
import { teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { artifactJson, jobJson, metricJson, versionJson } from "../serialize.js";
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
          "publish a version to the Hugging Face Hub as a push job: its checkpoint and a model card README.md in one commit, the lineage in the commit message; the job's progress is the bytes sent and its result the commit (repo, commit, url, files); a repeated Idempotency-Key returns the first job (200)",
        tags: ["versions"],
        params: idParam("version id"),
        headers: z.looseObject({
          "idempotency-key": z
            .string()
            .min(1)
            .max(200)
            .optional()
            .describe("a repeat with the same key returns the first job instead of pushing again"),
        }),
        body: PushVersionBody,
        response: {
          202: json(Job, "the push job, queued"),
          200: json(Job, "the first push job submitted with this Idempotency-Key"),
          ...errors(404, [
            422,
            "the license forbids publishing derivatives, or the team has no such token secret",
          ]),
        },
      },
      config: {
        role: "admin",
        audit: { action: "version.push", targetType: "job", status: 202, pick: ["kind", "inputVersionId"] },
      },
    },
    async (req, reply) => {
      const team = teamOf(req);
      const version = await getVersion(d.db, team, req.params.id);
      await pushRefusal(d.db, team, version.id, req.body);
      const { job, created } = await submitJob(
        d.db,
        d.dispatcher,
        team,
        { kind: "push", model: version.id, ...req.body },
        { idempotencyKey: req.headers["idempotency-key"], kinds: d.kinds, push: true },
      );
      return reply
        .status(created ? 202 : 200)
        .header("location", `/v1/jobs/${job.id}`)
        .send(jobJson(job));
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
