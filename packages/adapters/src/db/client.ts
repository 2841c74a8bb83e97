// Opens the registry database: PostgreSQL (service mode, DATABASE_URL) through @prisma/adapter-pg, or
// PGlite in a folder (embedded mode) through pglite-prisma-adapter. Both get the same committed
// migrations applied first (or, with migrate: "check", a refusal that says how to apply them).
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { UserError } from "@shortened/contracts";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client.js";
import { deployMigrations, readMigrations } from "./migrations.js";

export type Db = PrismaClient;
export { PrismaClient };

export interface OpenedDb {
  prisma: PrismaClient;
  kind: "postgres" | "pglite";
  /** Names of migrations applied while opening. */
  applied: string[];
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /** "apply" (default): apply pending migrations; "check": refuse to start when some are pending; "skip". */
  migrate?: "apply" | "check" | "skip";
}

// Prisma's defaults (2 s to get a connection, 5 s per interactive transaction) fail a burst of submissions on a
// loaded machine with an internal error; these bound a stuck transaction without failing a slow one. What still
// runs out answers 503 with Retry-After (isDatabaseBusy).
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 };

// Any constant works; it only has to be the same for every process applying migrations.
const MIGRATION_LOCK = 7_270_736_915;

export async function openPostgres(url: string, opts: OpenDbOptions = {}): Promise<OpenedDb> {
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new UserError("bad_request", "DATABASE_URL must be a postgres:// URL");
  const applied = await migratePostgres(url, opts.migrate ?? "apply");
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions: TRANSACTION_OPTIONS });
  return {
    prisma,
    kind: "postgres",
    applied,
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function migratePostgres(url: string, mode: "apply" | "check" | "skip"): Promise<string[]> {
  if (mode === "skip") return [];
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  try {
    if (mode === "check") {
      const pending = await pendingOn(lock);
      if (pending.length)
        throw new UserError(
          "conflict",
          `database has ${pending.length} pending migration(s) (${pending.join(", ")}): run \`shortened admin migrate\` with DATABASE_URL set`,
        );
      return [];
    }
    // api and worker may start together: one applies, the others wait and then find nothing to do.
    await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      // Our own pool, so that it can be closed afterwards (the engine does not end it).
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      try {
        return await deployMigrations(new PrismaPg(pool));
      } finally {
        await pool.end();
      }
    } finally {
      await lock.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    }
  } finally {
    await lock.end();
  }
}

async function pendingOn(client: pg.Client): Promise<string[]> {
  const names = readMigrations().migrationDirectories.map((d) => d.path);
  const exists = await client.query("SELECT to_regclass('_prisma_migrations') AS t");
  if (!exists.rows[0].t) return names;
  const done = await client.query(
    "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
  );
  const have = new Set(done.rows.map((r) => r.migration_name as string));
  return names.filter((n) => !have.has(n));
}

/** Embedded mode: PGlite persisted in `dir` (or "memory://"). */
export async function openPglite(dir: string, opts: OpenDbOptions = {}): Promise<OpenedDb> {
  if (dir !== "memory://") mkdirSync(dir, { recursive: true });
  const lite = new PGlite(dir);
  await lite.waitReady;
  const factory = new PrismaPGlite(lite);
  const applied = (opts.migrate ?? "apply") === "apply" ? await deployMigrations(factory) : [];
  const prisma = new PrismaClient({ adapter: factory, transactionOptions: TRANSACTION_OPTIONS });
  return {
    prisma,
    kind: "pglite",
    applied,
    close: async () => {
      await prisma.$disconnect();
      await lite.close();
    },
  };
}
