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
import { ListSharedQuery } from "@shortened/contracts";
import { buildModelCard, modelCardMarkdown } from "@shortened/jobs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import { modelJson, versionJson } from "../serialize.js";
import type { ApiDeps } from "./context.js";

type SharedModel = Parameters<typeof modelJson>[0] & {
  team: { name: string };
  share: { createdAt: Date } | null;
};
const sharedJson = (m: SharedModel) => ({
  ...modelJson(m),
  team: m.team.name,
  sharedAt: m.share?.createdAt.toISOString() ?? null,
});

/** JSON by default; Markdown for `?format=markdown` or `Accept: text/markdown`. */
export function sendCard(
  req: FastifyRequest,
  reply: FastifyReply,
  card: Awaited<ReturnType<typeof buildModelCard>>,
) {
  const q = req.query as { format?: string };
  if (q.format === "markdown" || (req.headers.accept ?? "").includes("text/markdown"))
    return reply.type("text/markdown; charset=utf-8").send(modelCardMarkdown(card));
  return card;
}

export function sharingRoutes(app: FastifyInstance, d: ApiDeps): void {
  for (const [method, share] of [
    ["PUT", true],
    ["DELETE", false],
  ] as const)
    app.route<{ Params: { id: string } }>({
      method,
      url: "/v1/models/:id/share",
      handler: async (req) => {
        const team = teamOf(req);
        const model = share
          ? await shareModel(d.db, team, req.params.id, req.principal!.keyId)
          : await unshareModel(d.db, team, req.params.id);
        await recordAudit(d.db, {
          teamId: team,
          actorKeyId: req.principal!.keyId,
          action: share ? "model.share" : "model.unshare",
          targetType: "model",
          targetId: model.id,
          data: { name: model.name },
        });
        return { ...modelJson(model), shared: share };
      },
    });

  app.get("/v1/shared/models", async (req) => {
    teamOf(req);
    const q = parseWith(ListSharedQuery, req.query, "query");
    const page = await listSharedModels(d.db, q);
    return { items: page.items.map(sharedJson), nextCursor: page.nextCursor };
  });

  app.get<{ Params: { id: string } }>("/v1/shared/models/:id", async (req) => {
    teamOf(req);
    const { model, versions } = await getSharedModel(d.db, req.params.id);
    return { ...sharedJson(model), versions: versions.map(versionJson) };
  });

  app.get<{ Params: { id: string } }>("/v1/shared/versions/:id/card", async (req, reply) => {
    teamOf(req);
    const v = await getSharedVersion(d.db, req.params.id);
    return sendCard(req, reply, await buildModelCard(d.db, null, v.id));
  });
}
