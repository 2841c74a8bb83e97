// Sharing with the organisation: an admin shares a model (PUT/DELETE /v1/models/:id/share); every team
// reads shared models, their versions and cards under /v1/shared. A team's own routes never show
// another team's objects, shared or not.
import {
  getSharedModel,
  getSharedVersion,
  listSharedModels,
  recordAudit,
  shareModel,
  unshareModel,
} from "@shortened/adapters";
import {
  CardQuery,
  ListSharedQuery,
  SharedModelPage,
  SharedModelWithVersions,
  ShareState,
} from "@shortened/contracts";
import { buildModelCard } from "@shortened/jobs";
import { keyOf, teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { modelJson, versionJson } from "../serialize.js";
import { cardAnswer, sendCard } from "./model-card.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["registry"];

type SharedRow = Parameters<typeof modelJson>[0] & {
  team: { name: string };
  share: { createdAt: Date } | null;
};
const sharedJson = (m: SharedRow) => ({
  ...modelJson(m),
  team: m.team.name,
  sharedAt: m.share?.createdAt.toISOString() ?? null,
});

export const sharingRoutes = v1Routes("sharing", (app, d) => {
  for (const share of [true, false])
    app.route({
      method: share ? "PUT" : "DELETE",
      url: "/models/:id/share",
      schema: {
        operationId: share ? "shareModel" : "unshareModel",
        summary: share ? "share a model with every team of the organisation" : "stop sharing a model",
        tags,
        params: idParam("model id or name"),
        response: { 200: json(ShareState, "the model and whether it is shared"), ...errors(404) },
      },
      config: { role: "admin" },
      handler: async (req) => {
        const team = teamOf(req);
        const { id } = req.params;
        const model = share
          ? await shareModel(d.db, team, id, keyOf(req))
          : await unshareModel(d.db, team, id);
        await recordAudit(d.db, {
          teamId: team,
          actorKeyId: keyOf(req),
          action: share ? "model.share" : "model.unshare",
          targetType: "model",
          targetId: model.id,
          data: { name: model.name },
        });
        return { ...modelJson(model), shared: share };
      },
    });

  app.get(
    "/shared/models",
    {
      schema: {
        operationId: "listSharedModels",
        summary: "models shared by every team",
        tags,
        querystring: ListSharedQuery,
        response: { 200: json(SharedModelPage, "a page of shared models") },
      },
      config: { role: "member" },
    },
    async (req) => {
      const page = await listSharedModels(d.db, req.query);
      return { items: page.items.map(sharedJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/shared/models/:id",
    {
      schema: {
        operationId: "getSharedModel",
        summary: "a shared model with its versions",
        tags,
        params: idParam("model id"),
        response: { 200: json(SharedModelWithVersions, "the model and its versions"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const { model, versions } = await getSharedModel(d.db, req.params.id);
      return { ...sharedJson(model), versions: versions.map(versionJson) };
    },
  );

  app.get(
    "/shared/versions/:id/card",
    {
      schema: {
        operationId: "getSharedModelCard",
        summary: "the model card of a version of a shared model",
        tags,
        params: idParam("version id"),
        querystring: CardQuery,
        response: { 200: cardAnswer, ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req, reply) => {
      const v = await getSharedVersion(d.db, req.params.id);
      return sendCard(req, reply, await buildModelCard(d.db, null, v.id));
    },
  );
});
