// One test command for the whole repo: node's built-in runner over every *.test.ts, run through tsx.
// Usage: npm test [-- path-substring ...] to run only the files whose path contains one of the filters.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const roots = ["packages", "apps", "test"];
const skip = new Set(["node_modules", "dist", "generated", "fixtures"]);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = roots
  .flatMap((r) => walk(join(root, r), []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ["--conditions=development", "--import", "tsx", "--test", "--test-concurrency=2", ...files],
  { stdio: "inherit", cwd: root },
);
process.exit(r.status ?? 1);
