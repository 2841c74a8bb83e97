// /v1/team/model-sources: the s3:// buckets and prefixes this team may register models from by URI (an
// admin adds and removes them; every key of the team can see them, with the operator's list, MODEL_SOURCES).
import { addModelSource, deleteModelSource, listModelSources, recordAudit } from "@shortened/adapters";
import { AddModelSourceBody, ModelSource, ModelSourceList } from "@shortened/contracts";
import { keyOf, teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["teams"];
const sourceJson = (s: { id: string; prefix: string; createdAt: Date }) => ({
  id: s.id,
  uri: s.prefix,
  createdAt: s.createdAt.toISOString(),
});

export const modelSourceRoutes = v1Routes("model sources", (app, d) => {
  const operator = d.modelSources ?? [];
  const bucket = () => (d.store.kind === "s3" ? (d.store as unknown as { bucket: string }).bucket : "");

  app.get(
    "/team/model-sources",
    {
      schema: {
        operationId: "listModelSources",
        summary: "where this team may register models from by s3:// URI: its own list and the operator's",
        tags,
        response: { 200: json(ModelSourceList, "the team's sources and the operator's") },
      },
      config: { role: "member" },
    },
    async (req) => ({
      items: (await listModelSources(d.db, teamOf(req))).map(sourceJson),
      operator,
    }),
  );

  app.post(
    "/team/model-sources",
    {
      schema: {
        operationId: "addModelSource",
        summary: "allow this team to register models from an s3:// bucket or prefix",
        tags,
        body: AddModelSourceBody,
        response: {
          201: json(ModelSource, "the source"),
          ...errors([409, "already a source of this team"], [422, "the service's own artifact store"]),
        },
      },
      config: { role: "admin" },
    },
    async (req, reply) => {
      const team = teamOf(req);
      const row = await addModelSource(d.db, {
        teamId: team,
        uri: req.body.uri,
        storeBucket: bucket(),
        keyId: keyOf(req),
      });
      await recordAudit(d.db, {
        teamId: team,
        actorKeyId: keyOf(req),
        action: "model_source.add",
        targetType: "model_source",
        targetId: row.id,
        data: { uri: row.prefix },
      });
      return reply.status(201).send(sourceJson(row));
    },
  );

  app.delete(
    "/team/model-sources/:id",
    {
      schema: {
        operationId: "deleteModelSource",
        summary: "stop allowing a source (models already registered from it stay)",
        tags,
        params: idParam("model source id"),
        response: { 200: json(ModelSource, "the removed source"), ...errors(404) },
      },
      config: { role: "admin" },
    },
    async (req) => {
      const team = teamOf(req);
      const row = await deleteModelSource(d.db, team, req.params.id);
      await recordAudit(d.db, {
        teamId: team,
        actorKeyId: keyOf(req),
        action: "model_source.delete",
        targetType: "model_source",
        targetId: row.id,
        data: { uri: row.prefix },
      });
      return sourceJson(row);
    },
  );
});
