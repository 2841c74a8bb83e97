// /v1/models: register (by s3:// URI, or upload as multipart files or a tar), list with search and
// filters, a model with its latest version, its versions.

import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { findModel, listModels, listVersions } from "@shortened/adapters";
import {
  ListModelsQuery,
  Model,
  ModelPage,
  RegisterModelBody,
  UploadModelQuery,
  UserError,
  VersionList,
} from "@shortened/contracts";
import { extractTar, registerFromFolder, registerFromUri } from "@shortened/jobs";
import type { FastifyRequest } from "fastify";
import { teamOf } from "../plugins/auth.js";
import { type AuditSpec, errors, idParam, json } from "../route-schema.js";
import { modelJson, versionJson } from "../serialize.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["models"];
const params = idParam("model id or name");
const registered = json(Model, "the model with its first version");
const audit: AuditSpec = { action: "model.register", targetType: "model", status: 201, pick: ["name"] };

export const modelRoutes = v1Routes("models", (app, d) => {
  app.post(
    "/models",
    {
      schema: {
        operationId: "registerModel",
        summary:
          "register a base checkpoint in place by s3:// URI, or from the Hugging Face Hub by hf://org/name@revision (validated, files hashed or checked against the Hub's hashes)",
        tags,
        body: RegisterModelBody,
        response: {
          201: registered,
          ...errors(
            [409, "a model of this name already exists, or this URI is already registered"],
            [
              422,
              "not an allowed model source of this team (see /v1/team/model-sources), not a checkpoint, over the size budget, or refused by the Hub (hub_unauthorized: wrong token, hub_gated: no access, hub_not_found)",
            ],
            [
              502,
              "the Hub could not be reached, a download stopped (a retry resumes it), or the bytes did not match",
            ],
          ),
        },
      },
      config: { role: "member", audit },
    },
    async (req, reply) => {
      const { model, version } = await registerFromUri(d.db, d.store, teamOf(req), req.body, {
        operatorSources: d.modelSources ?? [],
        hub: d.hub,
      });
      return reply.status(201).send({ ...modelJson(model), latestVersion: versionJson(version) });
    },
  );

  app.post(
    "/models/upload",
    {
      bodyLimit: d.uploadLimitBytes,
      schema: {
        operationId: "uploadModel",
        summary: "register a base checkpoint by upload: a tar of its folder, or its files as multipart parts",
        tags,
        querystring: UploadModelQuery,
        response: {
          201: registered,
          ...errors([409, "a model of this name already exists"]),
        },
      },
      config: {
        role: "member",
        audit,
        documentedBody: {
          "application/x-tar": {
            schema: { type: "string", format: "binary", description: "a tar of the folder" },
          },
          "multipart/form-data": {
            schema: {
              type: "object",
              description:
                "one file part per checkpoint file (config.json, *.safetensors, tokenizer files), or one .tar",
              properties: { file: { type: "array", items: { type: "string", format: "binary" } } },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const dir = await mkdtemp(join(tmpdir(), "shortened-upload-"));
      try {
        await receiveUpload(req, dir, d.uploadLimitBytes);
        const { model, version } = await registerFromFolder(d.db, d.store, {
          teamId: teamOf(req),
          name: req.query.name,
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

  app.get(
    "/models",
    {
      schema: {
        operationId: "listModels",
        summary: "list models, newest first (search and filters)",
        tags,
        querystring: ListModelsQuery,
        response: { 200: json(ModelPage, "a page of models") },
      },
      config: { role: "member" },
    },
    async (req) => {
      const page = await listModels(d.db, teamOf(req), req.query);
      return { items: page.items.map(modelJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/models/:id",
    {
      schema: {
        operationId: "getModel",
        summary: "a model (by id or name) with its latest version",
        tags,
        params,
        response: { 200: json(Model, "the model"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const model = await findModel(d.db, team, req.params.id);
      const versions = await listVersions(d.db, team, model.id);
      return {
        ...modelJson(model),
        latestVersion: versions.length ? versionJson(versions[versions.length - 1]) : null,
      };
    },
  );

  app.get(
    "/models/:id/versions",
    {
      schema: {
        operationId: "listModelVersions",
        summary: "versions of a model, oldest first",
        tags,
        params,
        response: { 200: json(VersionList, "the versions"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const model = await findModel(d.db, team, req.params.id);
      return { items: (await listVersions(d.db, team, model.id)).map(versionJson) };
    },
  );
});

async function receiveUpload(req: FastifyRequest, dir: string, limit: number): Promise<void> {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/x-tar") {
    const files = await extractTar(req.body as Readable, dir, limit);
    if (files.length === 0) throw new UserError("invalid_checkpoint", "the tar archive holds no files");
    return;
  }
  if (type !== "multipart/form-data")
    throw new UserError(
      "unsupported_media_type",
      `unsupported Content-Type ${type || "(none)"}: upload as application/x-tar or multipart/form-data`,
      415,
    );
  let count = 0;
  for await (const part of req.files({ limits: { fileSize: limit, files: 1000 } })) {
    const name = basename(part.filename || "");
    if (!name || name.startsWith(".") || name.includes("\0"))
      throw new UserError("bad_request", `bad file name in upload: ${part.filename}`);
    if (name.endsWith(".tar")) await extractTar(part.file, dir, limit);
    else await pipeline(part.file, createWriteStream(join(dir, name)));
    if (part.file.truncated) throw new UserError("payload_too_large", `upload exceeds ${limit} bytes`, 413);
    count++;
  }
  if (count === 0) throw new UserError("invalid_checkpoint", "the upload holds no files");
}
