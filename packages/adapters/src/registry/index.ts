// The registry: PostgreSQL or PGlite through Prisma. Plain functions over a PrismaClient, grouped by
// resource, plus the RegistryReader port that job handlers use.
import type { RegistryReader, VersionInfo } from "@shortened/contracts";
import type { PrismaClient } from "../generated/prisma/client.js";
import { isUuid } from "../ids.js";
import { pipelineSteps } from "./jobs.js";
import { resolveVersion } from "./models.js";

export * from "./aliases.js";
export * from "./audit.js";
export * from "./children.js";
export * from "./errors.js";
export * from "./importance.js";
export * from "./jobs.js";
export * from "./key-rotation.js";
export * from "./model-sources.js";
export * from "./models.js";
export * from "./outbox.js";
export * from "./outputs.js";
export * from "./secrets.js";
export * from "./sharing.js";
export * from "./teams.js";
export * from "./web-sessions.js";
export * from "./webhooks.js";

export function registryReader(db: PrismaClient): RegistryReader {
  return {
    resolveVersion: (teamId: string, ref: string): Promise<VersionInfo> => resolveVersion(db, teamId, ref),
    async jobResult(teamId: string, jobId: string) {
      if (!isUuid(jobId)) return null;
      const job = await db.job.findFirst({ where: { teamId, id: jobId } });
      return (job?.result as Record<string, unknown> | null) ?? null;
    },
    async pipelineSteps(teamId: string, jobId: string) {
      const steps = await pipelineSteps(db, jobId);
      return steps
        .filter((s) => s.teamId === teamId)
        .map((s) => ({
          id: s.id,
          kind: s.kind,
          state: s.state,
          reason: s.reason,
          result: (s.result as Record<string, unknown> | null) ?? null,
          outputVersionId: s.outputVersion?.id ?? null,
          spec: s.spec as Record<string, unknown>,
        }));
    },
  };
}
