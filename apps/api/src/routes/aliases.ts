// /v1/models/:id/aliases: movable names (@prod, @candidate) with history, and the promotion rules an
// admin sets per alias. A move that breaks a rule is refused (422 promotion_refused) with every check,
// its rule and its numbers; a move that passes records those checks in the alias history.
import {
  aliasHistory,
  findAlias,
  findModel,
  getAlias,
  getVersion,
  listAliases,
  moveAlias,
  setAliasRules,
} from "@shortened/adapters";
import { AliasName, MoveAliasBody, PromotionRule, SetAliasRulesBody, UserError } from "@shortened/contracts";
import { checkPromotion } from "@shortened/jobs";
import type { FastifyInstance } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import type { ApiDeps } from "./context.js";

type Params = { Params: { id: string; alias: string } };
const iso = (d: Date | null) => (d ? d.toISOString() : null);

function aliasJson(a: {
  id: string;
  name: string;
  modelId: string;
  versionId: string | null;
  rules: unknown;
  updatedAt: Date;
}) {
  return {
    id: a.id,
    name: `@${a.name}`,
    modelId: a.modelId,
    versionId: a.versionId,
    rules: a.rules,
    updatedAt: iso(a.updatedAt),
  };
}

export function aliasRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.get<{ Params: { id: string } }>("/v1/models/:id/aliases", async (req) => {
    const team = teamOf(req);
    const model = await findModel(d.db, team, req.params.id);
    return { items: (await listAliases(d.db, team, model.id)).map(aliasJson) };
  });

  app.get<Params>("/v1/models/:id/aliases/:alias", async (req) => {
    const team = teamOf(req);
    const model = await findModel(d.db, team, req.params.id);
    const alias = await getAlias(d.db, team, model.id, parseWith(AliasName, req.params.alias, "alias"));
    const history = await aliasHistory(d.db, alias.id);
    return {
      ...aliasJson(alias),
      history: history.map((m) => ({
        id: m.id,
        fromVersionId: m.fromVersionId,
        toVersionId: m.toVersionId,
        actorKeyId: m.actorKeyId,
        checks: m.checks,
        createdAt: iso(m.createdAt),
      })),
    };
  });

  app.put<Params>("/v1/models/:id/aliases/:alias/rules", async (req) => {
    const team = teamOf(req);
    const model = await findModel(d.db, team, req.params.id);
    const name = parseWith(AliasName, req.params.alias, "alias");
    const body = parseWith(SetAliasRulesBody, req.body, "body");
    const alias = await setAliasRules(d.db, {
      teamId: team,
      modelId: model.id,
      name,
      rules: body.rules,
      actorKeyId: req.principal!.keyId,
    });
    return aliasJson(alias);
  });

  // Moving an alias (promotion): any key of the team, as long as the version passes the alias's rules.
  app.put<Params>("/v1/models/:id/aliases/:alias", async (req) => {
    const team = teamOf(req);
    const model = await findModel(d.db, team, req.params.id);
    const name = parseWith(AliasName, req.params.alias, "alias");
    const body = parseWith(MoveAliasBody, req.body, "body");
    const version =
      typeof body.version === "number"
        ? await d.db.modelVersion.findFirst({
            where: { teamId: team, modelId: model.id, number: body.version },
          })
        : await getVersion(d.db, team, body.version).catch(() => null);
    if (!version || version.modelId !== model.id)
      throw new UserError("not_found", `model "${model.name}" has no version ${body.version}`, 404);
    const existing = await findAlias(d.db, team, model.id, name);
    const rules = PromotionRule.array().parse(existing?.rules ?? []);
    const checks = await checkPromotion(d.db, team, version.id, rules);
    const broken = checks.filter((c) => !c.passed);
    if (broken.length) {
      const e = new UserError(
        "promotion_refused",
        `cannot move @${name} to version ${version.number}: ${broken.map((c) => c.message).join("; ")}`,
        422,
      );
      (e as UserError & { details?: unknown }).details = { alias: `@${name}`, versionId: version.id, checks };
      throw e;
    }
    const { alias, move } = await moveAlias(d.db, {
      teamId: team,
      modelId: model.id,
      name,
      toVersionId: version.id,
      actorKeyId: req.principal!.keyId,
      checks,
    });
    return {
      ...aliasJson(alias),
      move: { id: move.id, fromVersionId: move.fromVersionId, toVersionId: move.toVersionId, checks },
    };
  });
}
