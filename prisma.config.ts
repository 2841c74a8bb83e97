// Prisma CLI config: used only by `prisma generate` (the client). Migrations are applied by
// packages/adapters/src/db/migrate.ts through @prisma/schema-engine-wasm (no native engine here).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  // env("DATABASE_URL") would throw when unset, which breaks `prisma generate` on a fresh clone.
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
