// Migrations without Prisma's native schema engine: @prisma/schema-engine-wasm driven directly over a
// driver adapter (adapter-pg for PostgreSQL, pglite-prisma-adapter for PGlite). It keeps Prisma's own
// layout (prisma/migrations/<timestamp>_<name>/migration.sql) and its `_prisma_migrations` history table,
// so the same committed migrations serve both databases.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import type { MigrationList, SchemaEngine } from "@prisma/schema-engine-wasm";
import * as bg from "@prisma/schema-engine-wasm/schema_engine_bg";

/** The repository's prisma/ folder (same depth from src/ and dist/). */
export const prismaDir = fileURLToPath(new URL("../../../../prisma/", import.meta.url));
export const schemaPath = join(prismaDir, "schema.prisma");
export const migrationsDir = join(prismaDir, "migrations");

const filters = { externalTables: [], externalEnums: [] };
interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: unknown,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
let wasmReady: Promise<void> | undefined;

function loadWasm(): Promise<void> {
  wasmReady ??= (async () => {
    // The package's main entry imports the .wasm bundler-style, which Node 20 cannot load; instantiate by hand.
    const wasmPath = fileURLToPath(
      import.meta.resolve("@prisma/schema-engine-wasm/schema_engine_bg").replace(/\.js$/, ".wasm"),
    );
    // (WebAssembly is a Node global; this project's lib settings do not declare it.)
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const { instance } = await wasm.instantiate(readFileSync(wasmPath), { "./schema_engine_bg.js": bg });
    const exports = instance.exports as unknown as { __wbindgen_start?: () => void };
    (bg as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(instance.exports);
    exports.__wbindgen_start?.();
  })();
  return wasmReady;
}

async function openEngine(factory: SqlMigrationAwareDriverAdapterFactory): Promise<SchemaEngine> {
  await loadWasm();
  const schema = readFileSync(schemaPath, "utf8");
  const Engine = (bg as unknown as { SchemaEngine: typeof SchemaEngine }).SchemaEngine;
  return Engine.new(
    { datamodels: [[schemaPath, schema]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(factory),
  );
}

/** The committed migrations, as the engine wants them. */
export function readMigrations(dir = migrationsDir): MigrationList {
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "migration.sql")))
        .map((d) => d.name)
        .sort()
    : [];
  const lockPath = join(dir, "migration_lock.toml");
  return {
    baseDir: dir,
    lockfile: {
      path: "migration_lock.toml",
      content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null,
    },
    shadowDbInitScript: "",
    migrationDirectories: names.map((path) => ({
      path,
      migrationFile: {
        path: "migration.sql",
        content: { tag: "ok" as const, value: readFileSync(join(dir, path, "migration.sql"), "utf8") },
      },
    })),
  } as MigrationList;
}

/** `prisma migrate deploy`: applies the committed migrations not yet applied; returns their names. */
export async function deployMigrations(
  factory: SqlMigrationAwareDriverAdapterFactory,
  dir = migrationsDir,
): Promise<string[]> {
  const engine = await openEngine(factory);
  try {
    const out = await engine.applyMigrations({ migrationsList: readMigrations(dir), filters });
    return out.appliedMigrationNames;
  } finally {
    engine.free();
  }
}

/**
 * The SQL that takes the database built by the committed migrations to the current schema.prisma
 * (replayed on a shadow database, so run it with a PGlite factory). Empty when nothing changed.
 */
export async function pendingSchemaSql(
  factory: SqlMigrationAwareDriverAdapterFactory,
  dir = migrationsDir,
): Promise<string> {
  const engine = await openEngine(factory);
  try {
    const migrations = readMigrations(dir);
    const from = migrations.migrationDirectories.length
      ? { tag: "migrations" as const, ...migrations }
      : { tag: "empty" as const };
    const out = await engine.diff({
      from,
      to: {
        tag: "schemaDatamodel",
        files: [{ path: schemaPath, content: readFileSync(schemaPath, "utf8") }],
      },
      script: true,
      exitCode: null,
      filters,
    } as Parameters<SchemaEngine["diff"]>[0]);
    const sql = (out as { stdout?: string }).stdout ?? "";
    return /^\s*(--[^\n]*\n\s*)*$/.test(sql) || sql.includes("This is an empty migration") ? "" : sql;
  } finally {
    engine.free();
  }
}
