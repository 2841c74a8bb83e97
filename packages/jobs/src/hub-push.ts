// Pushing a version to the Hugging Face Hub: its checkpoint files in the Hugging Face layout and a model card
// README.md made from the registry's card (base_model metadata, removed blocks and criterion, the retraining
// recipe, metrics with their protocols, the inherited license), in one commit whose message carries the
// lineage. Refused before anything is sent where the inherited license forbids sharing derivatives.
import { openAsBlob } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { commit, createRepo, HubApiError } from "@huggingface/hub";
import { type HubDeps, hubFetch, hubProblem, type PrismaClient, registryReader } from "@shortened/adapters";
import { type ArtifactStore, UserError } from "@shortened/contracts";
import { listFiles, StoreCheckpoints } from "./checkpoints.js";
import { type HubSourceRecord, hubToken, materializeHubVersion } from "./hub-models.js";
import { buildModelCard, type ModelCard, modelCardMarkdown } from "./model-card.js";

/** Licenses under which a derivative may not be published (no-derivatives, proprietary). */
export function licenseRefusal(license: string | null): string | null {
  if (!license) return null;
  const l = license.toLowerCase();
  if (/(^|-)nd(-|$)/.test(l) || l.includes("noderivatives"))
    return `the base model's license ${license} allows no derivatives: a pruned or retrained version may not be published`;
  if (["proprietary", "all-rights-reserved", "unlicensed"].includes(l))
    return `the base model's license ${license} does not allow publishing it`;
  return null;
}

const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

/** The card with the Hub's metadata block (YAML front matter). */
export function hubModelCard(card: ModelCard, baseModel: string | null): string {
  const yaml = [
    "---",
    ...(baseModel ? ["base_model:", `- ${baseModel}`] : []),
    ...(card.license.id ? [`license: ${card.license.id}`] : []),
    "library_name: transformers",
    "pipeline_tag: text-generation",
    "tags:",
    "- shortened",
    "- depth-pruning",
    `- ${card.version.kind}`,
    "---",
    "",
  ];
  const recipe = card.recipe as { removed?: number[]; criterion?: string };
  const removed =
    card.lineage.length > 1
      ? card.lineage.slice(1).map((l) => `- v${l.number} (${l.kind}): ${l.summary}`)
      : [];
  return [
    ...yaml,
    modelCardMarkdown(card),
    "## Lineage",
    "",
    ...(baseModel ? [`Base model: ${baseModel}.`, ""] : []),
    ...(removed.length ? removed : ["The base checkpoint itself."]),
    ...(recipe.removed
      ? [
          "",
          `Removed blocks: ${recipe.removed.join(", ")}${recipe.criterion ? ` (criterion ${recipe.criterion})` : ""}.`,
        ]
      : []),
    "",
    "Made with Shortened (depth pruning of LLMs, after Kim et al., 2024).",
    "",
  ].join("\n");
}

export interface PushBody {
  repo: string;
  private: boolean;
  tokenSecret?: string;
}

export async function pushVersion(
  db: PrismaClient,
  store: ArtifactStore,
  teamId: string,
  versionId: string,
  body: PushBody,
  o: { hub: HubDeps; cacheDir: string; envToken?: string; signal?: AbortSignal },
): Promise<{ repo: string; commit: string; url: string; files: string[]; private: boolean }> {
  if (!REPO.test(body.repo) || body.repo.includes(".."))
    throw new UserError("bad_request", `"${body.repo}" is not a Hub repository name (org/name)`);
  const card = await buildModelCard(db, teamId, versionId);
  const refused = licenseRefusal(card.license.id);
  if (refused) throw new UserError("forbidden", `cannot push: ${refused}`, 422);
  const version = await registryReader(db).resolveVersion(teamId, versionId);
  const token = await hubToken(
    db,
    o.hub,
    teamId,
    body.tokenSecret ? { tokenSecret: body.tokenSecret } : { tokenFromEnv: true },
    o.envToken,
  );
  const from = body.tokenSecret ?? "$HF_TOKEN";
  if (!token)
    throw new UserError(
      "hub_unauthorized",
      "pushing needs a Hub token: name a team secret with tokenSecret",
      422,
    );
  const dir = await new StoreCheckpoints(store, o.cacheDir, teamId, undefined, (v, signal) =>
    materializeHubVersion(db, o.hub, v, signal),
  ).materialize(version, o.signal);
  // The base's Hub repository when it came from the Hub, else its registry name.
  const base = await db.modelVersion.findFirst({
    where: { modelId: version.modelId, kind: "base" },
    orderBy: { number: "asc" },
  });
  const hubSrc = (base?.recipe as { hub?: HubSourceRecord } | null)?.hub;
  const baseModel = hubSrc ? hubSrc.repo : null;
  const readme = join(o.cacheDir, `push-${versionId}-README.md`);
  await writeFile(readme, hubModelCard(card, baseModel));
  const files = (await listFiles(dir)).filter((f) => f !== "README.md" && !f.startsWith("."));
  const ref = { repo: body.repo, revision: "main" };
  const fetch = hubFetch(o.hub.config.endpoint);
  const common = { hubUrl: o.hub.config.endpoint, accessToken: token, fetch };
  try {
    try {
      await createRepo({ ...common, repo: { type: "model", name: body.repo }, private: body.private });
    } catch (e) {
      // An existing repository takes a new commit.
      if (!(e instanceof HubApiError && e.statusCode === 409)) throw e;
    }
    const title = `Shortened: ${card.model.name} v${card.version.number} (${card.version.kind})`;
    const description = [
      `Lineage: ${card.lineage.map((l) => `v${l.number} ${l.kind}${l.summary ? ` (${l.summary})` : ""}`).join(" -> ")}`,
      ...(baseModel ? [`Base model: ${baseModel}@${hubSrc?.commit}`] : []),
      `Shortened version ${card.version.id}`,
    ].join("\n");
    const r = await commit({
      ...common,
      repo: { type: "model", name: body.repo },
      title,
      description,
      useXet: false,
      abortSignal: o.signal,
      operations: [
        ...(await Promise.all(
          files.map(async (f) => ({
            operation: "addOrUpdate" as const,
            path: f,
            content: await openAsBlob(join(dir, f)),
          })),
        )),
        { operation: "addOrUpdate" as const, path: "README.md", content: await openAsBlob(readme) },
      ],
    });
    if (!r) throw new UserError("hub_unavailable", `the Hub answered no commit for ${body.repo}`, 502);
    return {
      repo: body.repo,
      commit: r.commit.oid,
      url: r.commit.url,
      files: [...files, "README.md"],
      private: body.private,
    };
  } catch (e) {
    const p = hubProblem(e, ref, from);
    if (p instanceof UserError) throw p;
    throw new UserError("hub_unavailable", `push to ${body.repo} failed: ${p.message}`, 502);
  }
}
