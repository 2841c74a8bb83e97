#!/usr/bin/env node
// Runs the built CLI (dist/) when it exists; otherwise runs the TypeScript sources through tsx,
// so `npx shortened` works right after `npm ci`, before any build.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(appDir, "dist", "main.js");
if (existsSync(built) && !process.env.SHORTENED_FROM_SOURCE) {
  await import(built);
} else {
  const source = join(appDir, "src", "main.ts");
  const r = spawnSync(
    process.execPath,
    ["--conditions=development", "--import", "tsx", source, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(r.status ?? 1);
}
