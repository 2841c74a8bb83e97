// /v1/models and /v1/versions: register (by s3:// URI, or upload as multipart files or a tar), list with
// search and filters, versions, lineage, and each version's artifacts and metrics.

import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  findModel,
  getVersion,
  lineage,
  listArtifacts,
  listMetrics,
  listModels,
  listVersions,
} from "@shortened/adapters";
import { ListModelsQuery, ModelName, RegisterModelBody, UserError } from "@shortened/contracts";
import { extractTar, registerFromFolder, registerFromUri } from "@shortened/jobs";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import { artifactJson, metricJson, modelJson, versionJson } from "../serialize.js";
import type { ApiDeps } from "./context.js";

export function modelRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.post("/v1/models", async (req, reply) => {
    const body = parseWith(RegisterModelBody, req.body, "body");
    const { model, version } = await registerFromUri(d.db, d.store, teamOf(req), body);
    return reply.status(201).send({ ...modelJson(model), latestVersion: versionJson(version) });
  });

  // Upload: ?name=NAME, body either application/x-tar (a tar of the checkpoint folder) or
  // multipart/form-data whose file parts are the checkpoint files (or one .tar).
  app.post<{ Querystring: { name?: string; description?: string; license?: string } }>(
    "/v1/models/upload",
    { bodyLimit: d.uploadLimitBytes },
    async (req, reply) => {
      const name = parseWith(ModelName, req.query.name, "query name");
      const dir = await mkdtemp(join(tmpdir(), "shortened-upload-"));
      try {
        await receiveUpload(req, dir, d.uploadLimitBytes);
        const { model, version } = await registerFromFolder(d.db, d.store, {
          teamId: teamOf(req),
          name,
          dir,
          sourceUri: "upload",
          description: req.query.description,
          license: req.query.license,
        });
        return reply.status(201).send({ ...modelJson(model), latestVersion: versionJson(version) });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  app.get("/v1/models", async (req) => {
    const q = parseWith(ListModelsQuery, req.query, "query");
    const page = await listModels(d.db, teamOf(req), q);
    return { items: page.items.map(modelJson), nextCursor: page.nextCursor };
  });

  app.get<{ Params: { id: string } }>("/v1/models/:id", async (req) => {
    const team = teamOf(req);
    const model = await findModel(d.db, team, req.params.id);
    const versions = await listVersions(d.db, team, model.id);
    return {
      ...modelJson(model),
      latestVersion: versions.length ? versionJson(versions[versions.length - 1]) : null,
    };
  });

  app.get<{ Params: { id: string } }>("/v1/models/:id/versions", async (req) => {
    const team = teamOf(req);
    const model = await findModel(d.db, team, req.params.id);
    return { items: (await listVersions(d.db, team, model.id)).map(versionJson) };
  });

  app.get<{ Params: { id: string } }>("/v1/versions/:id", async (req) =>
    versionJson(await getVersion(d.db, teamOf(req), req.params.id)),
  );

  app.get<{ Params: { id: string } }>("/v1/versions/:id/lineage", async (req) => {
    const l = await lineage(d.db, teamOf(req), req.params.id);
    return {
      version: versionJson(l.version),
      ancestors: l.ancestors.map(versionJson),
      children: l.children.map(versionJson),
    };
  });

  app.get<{ Params: { id: string } }>("/v1/versions/:id/artifacts", async (req) => {
    const team = teamOf(req);
    const v = await getVersion(d.db, team, req.params.id);
    return { items: (await listArtifacts(d.db, team, { versionId: v.id })).map(artifactJson) };
  });

  app.get<{ Params: { id: string } }>("/v1/versions/:id/metrics", async (req) => {
    const team = teamOf(req);
    const v = await getVersion(d.db, team, req.params.id);
    return { items: (await listMetrics(d.db, team, { versionId: v.id })).map(metricJson) };
  });
}

async function receiveUpload(req: FastifyRequest, dir: string, limit: number): Promise<void> {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/x-tar") {
    const files = await extractTar(req.body as Readable, dir, limit);
    if (files.length === 0) throw new UserError("invalid_checkpoint", "the tar archive holds no files");
    return;
  }
  if (type !== "multipart/form-data")
    throw new UserError("bad_request", "upload as application/x-tar or multipart/form-data", 415);
  let count = 0;
  for await (const part of req.files({ limits: { fileSize: limit, files: 1000 } })) {
    const name = basename(part.filename || "");
    if (!name || name.startsWith("."))
      throw new UserError("bad_request", `bad file name in upload: ${part.filename}`);
    if (name.endsWith(".tar")) await extractTar(part.file, dir, limit);
    else await pipeline(part.file, createWriteStream(join(dir, name)));
    if (part.file.truncated) throw new UserError("payload_too_large", `upload exceeds ${limit} bytes`, 413);
    count++;
  }
  if (count === 0) throw new UserError("invalid_checkpoint", "the upload holds no files");
}
