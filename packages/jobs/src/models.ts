// Registering a base model: from a local folder or an upload (files copied into the artifact store), or
// by an s3:// URI (files stay where they are). The checkpoint is validated (config and safetensors
// headers) before anything is recorded; a failed registration leaves no objects and no rows.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  contentTypeOf,
  createBaseModel,
  type HubDeps,
  hubDepsFromEnv,
  isHubUri,
  type NamedObject,
  normalizeS3Prefix,
  type PrismaClient,
  sha256File,
  sourceRefusal,
  uuidv7,
} from "@shortened/adapters";
import { type ArtifactStore, type RegisterModelBody, UserError } from "@shortened/contracts";
import { Checkpoint } from "@shortened/hf";
import { listFiles } from "./checkpoints.js";
import { registerFromHub } from "./hub-models.js";
import { modelUploadPrefix } from "./keys.js";

/** Facts about a checkpoint worth showing and filtering on. */
export function checkpointFacts(dir: string): Record<string, unknown> {
  const c = Checkpoint.open(dir).config;
  return {
    architecture: c.architecture,
    modelType: c.modelType,
    numHiddenLayers: c.numHiddenLayers,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numAttentionHeads: c.numAttentionHeads,
    numKeyValueHeads: c.numKeyValueHeads,
    vocabSize: c.vocabSize,
    raw: c.raw,
  };
}

export async function registerFromFolder(
  db: PrismaClient,
  store: ArtifactStore,
  m: { teamId: string; name: string; dir: string; sourceUri: string; description?: string; license?: string },
) {
  const config = checkpointFacts(m.dir);
  const modelKeyId = uuidv7();
  const prefix = modelUploadPrefix(m.teamId, modelKeyId);
  const uploaded: string[] = [];
  try {
    const files: NamedObject[] = [];
    for (const f of await listFiles(m.dir)) {
      uploaded.push(prefix + f);
      files.push({ ...(await store.putFile(prefix + f, join(m.dir, f))), name: f });
    }
    return await createBaseModel(db, { ...m, storagePrefix: prefix, config, files });
  } catch (e) {
    await store.delete(uploaded).catch(() => {});
    throw e;
  }
}

export async function registerFromUri(
  db: PrismaClient,
  store: ArtifactStore,
  teamId: string,
  body: RegisterModelBody,
  opts: { operatorSources?: string[]; hub?: HubDeps } = {},
) {
  if (isHubUri(body.uri))
    return registerFromHub(db, teamId, body, {
      hub: opts.hub ?? hubDepsFromEnv(),
      operatorSources: opts.operatorSources ?? [],
    });
  if (body.tokenSecret) throw new UserError("bad_request", "tokenSecret is for hf:// URIs only");
  if (store.kind !== "s3")
    throw new UserError("bad_request", "models can be registered by s3:// URI only in service mode");
  const prefix = normalizeS3Prefix(body.uri);
  const refused = await sourceRefusal(db, {
    teamId,
    uri: body.uri,
    storeBucket: (store as unknown as { bucket: string }).bucket,
    operatorSources: opts.operatorSources ?? [],
  });
  if (refused) throw new UserError("source_not_allowed", refused, 422);
  let objects: { key: string; size: number }[];
  try {
    objects = await store.list(prefix);
  } catch (e) {
    if ((e as Error).name === "ArtifactStoreUnavailable") throw e;
    throw new UserError("bad_request", `cannot list ${prefix}: ${(e as Error).message}`);
  }
  if (!objects.some((o) => o.key === `${prefix}config.json`))
    throw new UserError("invalid_checkpoint", `${prefix} holds no config.json`);
  await refuseRegisteredObjects(
    db,
    teamId,
    body.uri,
    objects.map((o) => o.key),
  );
  // Validate and hash a local copy; the files themselves stay where they are.
  const dir = await mkdtemp(join(tmpdir(), "shortened-register-"));
  try {
    const files: NamedObject[] = [];
    for (const o of objects) {
      const name = o.key.slice(prefix.length);
      const path = join(dir, name);
      await store.getToFile(o.key, path);
      files.push({
        key: o.key,
        name,
        size: (await stat(path)).size,
        sha256: await sha256File(path),
        contentType: contentTypeOf(name),
      });
    }
    const config = checkpointFacts(dir);
    return await createBaseModel(db, {
      teamId,
      name: body.name,
      description: body.description,
      license: body.license,
      sourceUri: body.uri,
      storagePrefix: prefix,
      config,
      files,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Files stay where they are, so one object belongs to one model: say which, when it is the caller's. */
async function refuseRegisteredObjects(db: PrismaClient, teamId: string, uri: string, keys: string[]) {
  const taken = await db.artifact.findFirst({
    where: { key: { in: keys } },
    select: { teamId: true, version: { select: { model: { select: { name: true } } } } },
  });
  if (!taken) return;
  const name = taken.version?.model.name;
  throw new UserError(
    "conflict",
    taken.teamId === teamId && name
      ? `${uri} is already registered as model "${name}": use that model (or its versions) instead`
      : `${uri} is already registered in this service by another team`,
    409,
  );
}
