/** Prisma's unique-constraint violation (P2002), whichever driver adapter raised it. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  return (
    err?.code === "P2002" ||
    err?.cause?.code === "23505" ||
    /Unique constraint failed/i.test(err?.message ?? "")
  );
}
