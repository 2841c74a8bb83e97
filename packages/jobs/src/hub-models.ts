// Registering a base model from the Hugging Face Hub (hf://org/name@revision): the team may read that
// source (model-sources tenancy), the revision is resolved to a commit, the checkpoint's files are
// downloaded into the Hub cache (verified against the Hub's sizes and hashes) and validated; only then is
// anything recorded, with the commit. The files stay on the Hub: a worker downloads the same commit into
// its own cache when a job needs it (StoreCheckpoints.materialize).
import { stat } from "node:fs/promises";
import { join } from "node:path";
import {
  contentTypeOf,
  createBaseModel,
  type HubDeps,
  type HubDownloadProgress,
  HubIntegrityError,
  type HubRef,
  type HubSnapshot,
  HubTransferError,
  hubUri,
  type NamedObject,
  type PrismaClient,
  parseHubUri,
  readTeamSecret,
  resolveSnapshot,
  sha256File,
  sourceRefusal,
  uuidv7,
} from "@shortened/adapters";
import { type RegisterModelBody, UserError, type VersionInfo } from "@shortened/contracts";
import { Checkpoint } from "@shortened/hf";
import { checkpointFacts } from "./models.js";

/** What a Hub version records (in its recipe) to be downloaded again by a worker. */
export interface HubSourceRecord {
  repo: string;
  revision: string;
  commit: string;
  /** The team secret holding the token (private or gated repositories). */
  tokenSecret?: string;
  /** Embedded mode: the token comes from HF_TOKEN. */
  tokenFromEnv?: boolean;
}

export interface RegisterFromHubOptions {
  hub: HubDeps;
  /** MODEL_SOURCES; undefined in embedded mode (a local user may register what they can read). */
  operatorSources?: string[];
  /** Embedded mode: HF_TOKEN. */
  envToken?: string;
  signal?: AbortSignal;
  onProgress?: (p: HubDownloadProgress) => void;
}

/** Hub transfer problems as API errors (502: the Hub or the mirror, not the caller). */
export function hubTransferAsUserError(e: unknown): unknown {
  if (e instanceof HubIntegrityError) return new UserError("hub_integrity", e.message, 502);
  if (e instanceof HubTransferError) return new UserError("hub_unavailable", e.message, 502);
  return e;
}

/** Where a token came from, for messages: the team secret's name, or "$HF_TOKEN" (embedded mode). */
const tokenOrigin = (src: { tokenSecret?: string; tokenFromEnv?: boolean }) =>
  src.tokenSecret ?? (src.tokenFromEnv ? "$HF_TOKEN" : undefined);

export async function hubToken(
  db: PrismaClient,
  hub: HubDeps,
  teamId: string,
  src: { tokenSecret?: string; tokenFromEnv?: boolean },
  envToken = process.env.HF_TOKEN,
): Promise<string | undefined> {
  if (src.tokenSecret) return readTeamSecret(db, hub.secretsKey, teamId, src.tokenSecret);
  return src.tokenFromEnv ? envToken || undefined : undefined;
}

export async function registerFromHub(
  db: PrismaClient,
  teamId: string,
  body: RegisterModelBody,
  o: RegisterFromHubOptions,
) {
  const ref = parseHubUri(body.uri);
  if (o.operatorSources) {
    const refused = await sourceRefusal(db, {
      teamId,
      uri: body.uri,
      storeBucket: "",
      operatorSources: o.operatorSources,
    });
    if (refused) throw new UserError("source_not_allowed", refused, 422);
  }
  if (await db.model.findFirst({ where: { teamId, name: body.name }, select: { id: true } }))
    throw new UserError("conflict", `a model named "${body.name}" already exists`, 409);
  const source: HubSourceRecord = { repo: ref.repo, revision: ref.revision, commit: "" };
  if (body.tokenSecret) source.tokenSecret = body.tokenSecret;
  else if (o.envToken && !o.operatorSources) source.tokenFromEnv = true;
  const token = await hubToken(db, o.hub, teamId, source, o.envToken);
  const from = tokenOrigin(source);
  let snap: HubSnapshot;
  let dir: string;
  let release: () => Promise<void>;
  try {
    snap = await resolveSnapshot(o.hub.config, ref, { token, tokenSecret: from });
    source.commit = snap.commit;
    ({ dir, release } = await o.hub.cache.acquire(snap, {
      token,
      tokenSecret: from,
      signal: o.signal,
      onProgress: o.onProgress,
    }));
  } catch (e) {
    throw hubTransferAsUserError(e);
  }
  try {
    return await recordHubModel(db, teamId, body, o, { ref, source, snap, dir });
  } finally {
    await release();
  }
}

/** Validates the downloaded checkpoint and records the model (registerFromHub, the snapshot pinned). */
async function recordHubModel(
  db: PrismaClient,
  teamId: string,
  body: RegisterModelBody,
  o: RegisterFromHubOptions,
  { ref, source, snap, dir }: { ref: HubRef; source: HubSourceRecord; snap: HubSnapshot; dir: string },
) {
  let config: Record<string, unknown>;
  try {
    Checkpoint.open(dir);
    config = checkpointFacts(dir);
  } catch (e) {
    // Verified bytes that are no checkpoint: nothing else will want them.
    await o.hub.cache.drop(snap.repo, snap.commit);
    throw e;
  }
  const keyId = uuidv7();
  const files: NamedObject[] = [];
  for (const f of snap.files) {
    const path = join(dir, f.path);
    files.push({
      // One row per registration (keys are unique); the part before "#" is where the file lives.
      key: `${hubUri(snap.repo, snap.commit)}/${f.path}#${keyId}`,
      name: f.path,
      size: (await stat(path)).size,
      sha256: f.sha256 ?? (await sha256File(path)),
      contentType: contentTypeOf(f.path),
    });
  }
  const pinned = hubUri(snap.repo, snap.commit);
  return createBaseModel(db, {
    teamId,
    name: body.name,
    description: body.description,
    license: body.license ?? snap.license,
    sourceUri: pinned,
    storagePrefix: `${pinned}/`,
    config,
    files,
    recipe: { source: hubUri(ref.repo, ref.revision), hub: { ...source } },
  });
}

/**
 * A Hub version's folder in this machine's Hub cache (the commit it was registered at, listed and verified
 * again), pinned there until `pin`'s release is called (the runner releases its pins when the attempt ends),
 * so another job's download cannot evict it while it is read. A refused token or a vanished repository fails
 * the job with the reason; a dropped transfer is retried like any other error, and the next attempt resumes it.
 */
export async function materializeHubVersion(
  db: PrismaClient,
  hub: HubDeps,
  version: VersionInfo,
  signal: AbortSignal | undefined,
  pin: (release: () => Promise<void>) => void,
): Promise<string> {
  const src = version.recipe.hub as HubSourceRecord | undefined;
  if (!src?.commit)
    throw new UserError("invalid_checkpoint", `version ${version.id} names no Hub commit`, 422);
  const token = await hubToken(db, hub, version.teamId, src);
  const from = tokenOrigin(src);
  const snap = await resolveSnapshot(
    hub.config,
    { repo: src.repo, revision: src.commit },
    { token, tokenSecret: from },
  );
  if (snap.commit !== src.commit)
    throw new HubIntegrityError(`the Hub resolved commit ${src.commit} of ${src.repo} to ${snap.commit}`);
  const { dir, release } = await hub.cache.acquire(snap, { token, tokenSecret: from, signal });
  pin(release);
  return dir;
}
