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
import {
  Alias,
  AliasList,
  AliasName,
  AliasWithHistory,
  MoveAliasBody,
  MovedAlias,
  PromotionRule,
  type RuleCheck,
  SetAliasRulesBody,
  UserError,
} from "@shortened/contracts";
import { checkPromotion } from "@shortened/jobs";
import type { z } from "zod";
import { keyOf, teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["registry"];
const modelParams = idParam("model id or name");
const params = modelParams.extend({ alias: AliasName.describe("alias name, with or without @ (e.g. prod)") });
const iso = (d: Date) => d.toISOString();

function aliasJson(a: {
  id: string;
  name: string;
  modelId: string;
  versionId: string | null;
  rules: unknown;
  updatedAt: Date;
}): z.output<typeof Alias> {
  return {
    id: a.id,
    name: `@${a.name}`,
    modelId: a.modelId,
    versionId: a.versionId,
    rules: PromotionRule.array().parse(a.rules ?? []),
    updatedAt: iso(a.updatedAt),
  };
}

const checksOf = (json: unknown) => json as z.output<typeof RuleCheck>[];

export const aliasRoutes = v1Routes("aliases", (app, d) => {
  app.get(
    "/models/:id/aliases",
    {
      schema: {
        operationId: "listAliases",
        summary: "the aliases of a model",
        tags,
        params: modelParams,
        response: { 200: json(AliasList, "the aliases"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const model = await findModel(d.db, team, req.params.id);
      return { items: (await listAliases(d.db, team, model.id)).map(aliasJson) };
    },
  );

  app.get(
    "/models/:id/aliases/:alias",
    {
      schema: {
        operationId: "getAlias",
        summary: "where an alias points, and its history with the checks that allowed each move",
        tags,
        params,
        response: { 200: json(AliasWithHistory, "the alias and its moves"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const model = await findModel(d.db, team, req.params.id);
      const alias = await getAlias(d.db, team, model.id, req.params.alias);
      const history = await aliasHistory(d.db, alias.id);
      return {
        ...aliasJson(alias),
        history: history.map((m) => ({
          id: m.id,
          fromVersionId: m.fromVersionId,
          toVersionId: m.toVersionId,
          actorKeyId: m.actorKeyId,
          checks: checksOf(m.checks),
          createdAt: iso(m.createdAt),
        })),
      };
    },
  );

  app.put(
    "/models/:id/aliases/:alias/rules",
    {
      schema: {
        operationId: "setAliasRules",
        summary: "set the promotion rules of an alias (it is created if new)",
        tags,
        params,
        body: SetAliasRulesBody,
        response: { 200: json(Alias, "the alias with its rules"), ...errors(404) },
      },
      config: { role: "admin" },
    },
    async (req) => {
      const team = teamOf(req);
      const model = await findModel(d.db, team, req.params.id);
      const alias = await setAliasRules(d.db, {
        teamId: team,
        modelId: model.id,
        name: req.params.alias,
        rules: req.body.rules,
        actorKeyId: keyOf(req),
      });
      return aliasJson(alias);
    },
  );

  // Moving an alias (promotion): any key of the team, as long as the version passes the alias's rules.
  app.put(
    "/models/:id/aliases/:alias",
    {
      schema: {
        operationId: "moveAlias",
        summary: "move an alias to a version of the model; refused when a promotion rule breaks",
        tags,
        params,
        body: MoveAliasBody,
        response: {
          200: json(MovedAlias, "the alias, moved, with the checks it passed"),
          ...errors(
            [404, "no such model, or no such version of it"],
            [422, "promotion_refused: a rule is broken; details holds every check with its numbers"],
          ),
        },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const model = await findModel(d.db, team, req.params.id);
      const name = req.params.alias;
      const body = req.body;
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
        (e as UserError & { details?: unknown }).details = {
          alias: `@${name}`,
          versionId: version.id,
          checks,
        };
        throw e;
      }
      const { alias, move } = await moveAlias(d.db, {
        teamId: team,
        modelId: model.id,
        name,
        toVersionId: version.id,
        actorKeyId: keyOf(req),
        checks,
      });
      return {
        ...aliasJson(alias),
        move: { id: move.id, fromVersionId: move.fromVersionId, toVersionId: move.toVersionId, checks },
      };
    },
  );
});
