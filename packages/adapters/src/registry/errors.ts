// Database errors the registry tells apart, whichever driver adapter (pg or PGlite) raised them.

/** Prisma's unique-constraint violation (P2002). */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  return (
    err?.code === "P2002" ||
    err?.cause?.code === "23505" ||
    /Unique constraint failed/i.test(err?.message ?? "")
  );
}

// Prisma: P2024 no pool connection in time, P2034 write conflict or deadlock, P2028 transaction could not start
// or expired (its interactive transaction timeout). PostgreSQL: 40001 serialization failure, 40P01 deadlock, 55P03 lock not available,
// 57014 statement cancelled, 53300 too many connections. None says the request was wrong: it may succeed later.
const BUSY_PRISMA = new Set(["P2024", "P2028", "P2034"]);
const BUSY_SQLSTATE = new Set(["40001", "40P01", "55P03", "57014", "53300"]);

/** True when the database was too busy to answer in time: the caller should retry, not see an internal error. */
export function isDatabaseBusy(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: { code?: string; originalCode?: string } };
  if (!err || typeof err !== "object") return false;
  if (err.code && (BUSY_PRISMA.has(err.code) || BUSY_SQLSTATE.has(err.code))) return true;
  const cause = err.cause?.originalCode ?? err.cause?.code;
  if (cause && BUSY_SQLSTATE.has(cause)) return true;
  return /Transaction already closed|Unable to start a transaction in the given time|Timed out fetching a new connection/i.test(
    err.message ?? "",
  );
}
