// Writes prisma/migrations/<timestamp>_<name>/migration.sql for the changes in schema.prisma since the last
// committed migration (the history is replayed on an in-memory PGlite; no native Prisma engine needed).
// Usage: node --conditions=development --import tsx prisma/new-migration.ts <name>
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { migrationsDir, pendingSchemaSql } from "../packages/adapters/src/db/migrations.js";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: new-migration.ts <name> (lowercase letters, digits, _)");
  process.exit(2);
}
const shadow = new PGlite("memory://");
const sql = await pendingSchemaSql(new PrismaPGlite(shadow));
await shadow.close();
if (!sql.trim()) {
  console.log("schema unchanged: no migration written");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
const dir = join(migrationsDir, `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "migration.sql"), sql);
const lock = join(migrationsDir, "migration_lock.toml");
if (!existsSync(lock)) writeFileSync(lock, 'provider = "postgresql"\n');
console.log(`wrote ${dir}/migration.sql`);
