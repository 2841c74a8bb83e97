// Pushing a version to the Hugging Face Hub: its checkpoint files in the Hugging Face layout and a model card
// README.md made from the registry's card (base_model metadata, removed blocks and criterion, the retraining
// recipe, metrics with their protocols, the inherited license), in one commit whose message carries the
// lineage. Refused before anything is sent where the inherited license forbids sharing derivatives. It runs as
// a `push` job (handlers/push.ts): POST /v1/versions/{id}/push and `shortened models push` start one.
import { createHash } from "node:crypto";
import { createReadStream, openAsBlob } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type commit, commitIter, createRepo, HubApiError, listFiles, modelInfo } from "@huggingface/hub";
import { type HubDeps, hubFetch, hubProblem, type PrismaClient, readTeamSecret } from "@shortened/adapters";
import {
  type HubPublisher,
  type PushOutcome,
  type PushProgress,
  UserError,
  type VersionInfo,
} from "@shortened/contracts";
import { listFiles as listFolder } from "./checkpoints.js";
import type { HubSourceRecord } from "./hub-models.js";
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

export interface PushTarget {
  repo: string;
  private: boolean;
  tokenSecret?: string;
}

/**
 * What can be refused when a push is asked for, before a job starts: a license that forbids publishing, a
 * token secret the team does not have. The push job checks all of it again.
 */
export async function pushRefusal(
  db: PrismaClient,
  teamId: string,
  versionId: string,
  target: PushTarget,
): Promise<void> {
  const card = await buildModelCard(db, teamId, versionId);
  const refused = licenseRefusal(card.license.id);
  if (refused) throw new UserError("forbidden", `cannot push: ${refused}`, 422);
  if (
    target.tokenSecret &&
    !(await db.teamSecret.findFirst({ where: { teamId, name: target.tokenSecret }, select: { id: true } }))
  )
    throw new UserError(
      "not_found",
      `no team secret "${target.tokenSecret}": an admin sets it with PUT /v1/team/secrets/${target.tokenSecret}`,
      422,
    );
}

/**
 * The push jobs' Hub access: a version's files and its model card in one commit. A retry is safe: when the
 * repository's head already holds exactly these files (a push whose job did not record its end), no commit
 * is made and that commit is the answer. `envToken` is embedded mode's $HF_TOKEN (a worker has none: its
 * pushes name a team secret).
 */
export function hubPublisher(db: PrismaClient, hub: () => HubDeps, envToken?: string): HubPublisher {
  return {
    push: (version, dir, target, o) => pushFiles(db, hub(), envToken, version, dir, target, o),
  };
}

async function pushFiles(
  db: PrismaClient,
  hub: HubDeps,
  envToken: string | undefined,
  version: VersionInfo,
  dir: string,
  target: PushTarget,
  o: { workDir: string; signal: AbortSignal; onProgress?: (p: PushProgress) => void },
): Promise<PushOutcome> {
  const card = await buildModelCard(db, version.teamId, version.id);
  const refused = licenseRefusal(card.license.id);
  if (refused) throw new UserError("forbidden", `cannot push: ${refused}`, 422);
  const token = target.tokenSecret
    ? await readTeamSecret(db, hub.secretsKey, version.teamId, target.tokenSecret)
    : envToken || undefined;
  const from = target.tokenSecret ?? "$HF_TOKEN";
  if (!token)
    throw new UserError(
      "hub_unauthorized",
      "pushing needs a Hub token: name a team secret with tokenSecret",
      422,
    );
  // The base's Hub repository when it came from the Hub, else its registry name.
  const base = await db.modelVersion.findFirst({
    where: { modelId: version.modelId, kind: "base" },
    orderBy: { number: "asc" },
  });
  const hubSrc = (base?.recipe as { hub?: HubSourceRecord } | null)?.hub;
  const baseModel = hubSrc ? hubSrc.repo : null;
  await mkdir(o.workDir, { recursive: true });
  const readme = join(o.workDir, "README.md");
  await writeFile(readme, hubModelCard(card, baseModel));
  const local = [
    ...(await listFolder(dir))
      .filter((f) => f !== "README.md" && !f.startsWith("."))
      .map((f) => ({ path: f, file: join(dir, f) })),
    { path: "README.md", file: readme },
  ];
  const sizes = await Promise.all(local.map(async (f) => (await stat(f.file)).size));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const ref = { repo: target.repo, revision: "main" };
  const fetch = hubFetch(hub.config.endpoint);
  const common = { hubUrl: hub.config.endpoint, accessToken: token, fetch };
  const repo = { type: "model" as const, name: target.repo };
  const outcome = (commit: string, url: string, committed: boolean): PushOutcome => ({
    repo: target.repo,
    commit,
    url,
    files: local.map((f) => f.path),
    private: target.private,
    committed,
  });
  try {
    try {
      await createRepo({ ...common, repo, private: target.private });
    } catch (e) {
      // An existing repository takes a new commit.
      if (!(e instanceof HubApiError && e.statusCode === 409)) throw e;
    }
    const head = await headHolding(common, target.repo, local, sizes);
    if (head) {
      o.onProgress?.({
        file: "",
        bytes: totalBytes,
        totalBytes,
        filesDone: local.length,
        files: local.length,
      });
      return outcome(head, `${hub.config.endpoint}/${target.repo}/commit/${head}`, false);
    }
    const title = `Shortened: ${card.model.name} v${card.version.number} (${card.version.kind})`;
    const description = [
      `Lineage: ${card.lineage.map((l) => `v${l.number} ${l.kind}${l.summary ? ` (${l.summary})` : ""}`).join(" -> ")}`,
      ...(baseModel ? [`Base model: ${baseModel}@${hubSrc?.commit}`] : []),
      `Shortened version ${card.version.id}`,
    ].join("\n");
    const it = commitIter({
      ...common,
      repo,
      title,
      description,
      useXet: false,
      abortSignal: o.signal,
      operations: await Promise.all(
        local.map(async (f) => ({
          operation: "addOrUpdate" as const,
          path: f.path,
          content: await openAsBlob(f.file),
        })),
      ),
    });
    // Bytes sent per large file (the Hub's LFS uploads); the small ones travel inside the commit.
    const sent = new Map<string, number>();
    const sizeOf = new Map(local.map((f, i) => [f.path, sizes[i]!]));
    const done = new Set<string>();
    const report = (file: string) => {
      let bytes = 0;
      for (const v of sent.values()) bytes += v;
      o.onProgress?.({ file, bytes, totalBytes, filesDone: done.size, files: local.length });
    };
    let r: Awaited<ReturnType<typeof commit>>;
    for (;;) {
      const ev = await it.next();
      if (ev.done) {
        r = ev.value;
        break;
      }
      const e = ev.value;
      if (e.event === "fileProgress" && e.state === "uploading") {
        sent.set(e.path, Math.round(e.progress * (sizeOf.get(e.path) ?? 0)));
        if (e.progress >= 1) done.add(e.path);
        report(e.path);
      }
    }
    if (!r) throw new UserError("hub_unavailable", `the Hub answered no commit for ${target.repo}`, 502);
    for (const f of local) {
      done.add(f.path);
      sent.set(f.path, sizeOf.get(f.path) ?? 0);
    }
    report("");
    return outcome(r.commit.oid, r.commit.url, true);
  } catch (e) {
    o.signal.throwIfAborted();
    const p = hubProblem(e, ref, from);
    if (p instanceof UserError) throw p;
    throw new UserError("hub_unavailable", `push to ${target.repo} failed: ${p.message}`, 502);
  }
}

/**
 * The head commit of the repository's main branch when it already holds every one of `local` with the same
 * bytes (sha256 of large files, git blob id of small ones); null otherwise or for an empty repository.
 */
async function headHolding(
  common: { hubUrl: string; accessToken: string; fetch: typeof fetch },
  name: string,
  local: { path: string; file: string }[],
  sizes: number[],
): Promise<string | null> {
  const info = await modelInfo({ ...common, name, revision: "main", additionalFields: ["sha"] });
  const head = (info as { sha?: string }).sha;
  if (!head) return null;
  const remote = new Map<string, { size: number; sha256?: string; gitOid?: string }>();
  for await (const f of listFiles({ ...common, repo: name, revision: head, recursive: true }))
    if (f.type === "file")
      remote.set(f.path, { size: f.lfs?.size ?? f.size, sha256: f.lfs?.oid, gitOid: f.oid });
  for (const [i, f] of local.entries()) {
    const r = remote.get(f.path);
    if (!r || r.size !== sizes[i]) return null;
    const ok = r.sha256
      ? (await fileHash(f.file, "sha256")) === r.sha256
      : (await fileHash(f.file, "git", sizes[i])) === r.gitOid;
    if (!ok) return null;
  }
  return head;
}

async function fileHash(path: string, kind: "sha256" | "git", size = 0): Promise<string> {
  const h = createHash(kind === "git" ? "sha1" : "sha256");
  if (kind === "git") h.update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}
