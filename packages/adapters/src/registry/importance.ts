// Block importance results kept per (model version, criterion, calibration hash), so a later job that
// asks for the same scores reads them instead of recomputing.
import type { ImportanceStore } from "@shortened/contracts";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";

export interface StoredImportance {
  versionId: string;
  criterion: string;
  calibrationHash: string;
  calibration: Record<string, unknown>;
  result: Record<string, unknown>;
  jobId: string | null;
  createdAt: Date;
}

export async function findImportance(
  db: PrismaClient,
  teamId: string,
  versionId: string,
  criterion: string,
  calibrationHash: string,
): Promise<StoredImportance | null> {
  const row = await db.importanceResult.findFirst({
    where: { teamId, versionId, criterion, calibrationHash },
  });
  return row
    ? {
        ...row,
        calibration: row.calibration as Record<string, unknown>,
        result: row.result as Record<string, unknown>,
      }
    : null;
}

/** Stores a result; the first one stored for a key wins (concurrent jobs compute the same thing). */
export async function storeImportance(
  db: PrismaClient,
  r: Omit<StoredImportance, "createdAt"> & { teamId: string },
): Promise<void> {
  await db.importanceResult.createMany({
    data: [
      {
        teamId: r.teamId,
        versionId: r.versionId,
        criterion: r.criterion,
        calibrationHash: r.calibrationHash,
        calibration: r.calibration as Prisma.InputJsonValue,
        result: r.result as Prisma.InputJsonValue,
        jobId: r.jobId,
      },
    ],
    skipDuplicates: true,
  });
}

export function listImportance(db: PrismaClient, teamId: string, versionId: string) {
  return db.importanceResult.findMany({ where: { teamId, versionId }, orderBy: { id: "asc" } });
}

/** The job port: reads and writes within the job's team, recording which job computed a result. */
export function importanceStore(db: PrismaClient, teamId: string, jobId: string): ImportanceStore {
  return {
    find: async (versionId, criterion, calibrationHash) =>
      (await findImportance(db, teamId, versionId, criterion, calibrationHash))?.result ?? null,
    store: (versionId, criterion, calibrationHash, calibration, result) =>
      storeImportance(db, { teamId, versionId, criterion, calibrationHash, calibration, result, jobId }),
  };
}
