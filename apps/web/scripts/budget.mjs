// The bundle budget, checked in CI: the JavaScript a browser loads to show any page first (the entry chunk,
// the page's own chunk, and everything they import statically) must stay within 300 KB gzipped. Charts
// (vega), the lineage layout (dagre) and Markdown are loaded on demand and do not count.
// Usage: node apps/web/scripts/budget.mjs [--limit-kb 300]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist", import.meta.url).pathname;
const flag = process.argv.indexOf("--limit-kb");
const limitKb = flag > 0 ? Number(process.argv[flag + 1]) : 300;
const manifest = JSON.parse(readFileSync(join(dist, ".vite/manifest.json"), "utf8"));
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;

/** Files loaded with a chunk: itself and its static imports, transitively. */
function closure(key, seen = new Set()) {
  if (seen.has(key)) return seen;
  seen.add(key);
  for (const i of manifest[key].imports ?? []) closure(i, seen);
  return seen;
}

const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
// Pages are the lazy chunks App.tsx routes to; other lazy chunks (Markdown, charts, lineage) load on demand.
const routed = readFileSync(new URL("../src/App.tsx", import.meta.url), "utf8");
const pages = Object.keys(manifest).filter(
  (k) =>
    manifest[k].isDynamicEntry &&
    routed.includes(`import("./${k.replace(/^src\//, "").replace(/\.tsx$/, ".js")}")`),
);
let worst = { page: "", bytes: 0 };
const rows = [];
for (const page of ["(shell only)", ...pages]) {
  const files = new Set([...closure(entry), ...(page === "(shell only)" ? [] : closure(page))]);
  const bytes = [...files].reduce((s, k) => s + gz(manifest[k].file), 0);
  rows.push(`${(bytes / 1024).toFixed(1).padStart(7)} KB  ${page}`);
  if (bytes > worst.bytes) worst = { page, bytes };
}
const lazy = Object.keys(manifest).filter((k) => manifest[k].isDynamicEntry && !pages.includes(k));
console.log("first-load JavaScript, gzipped, per page:");
console.log(rows.join("\n"));
console.log(
  `on demand: ${lazy.map((k) => `${k.replace(/^.*node_modules\//, "")} ${(gz(manifest[k].file) / 1024).toFixed(0)} KB`).join(", ")}`,
);
const kb = worst.bytes / 1024;
if (kb > limitKb) {
  console.error(
    `bundle budget exceeded: ${worst.page} loads ${kb.toFixed(1)} KB of gzipped JavaScript (limit ${limitKb} KB)`,
  );
  process.exit(1);
}
console.log(`bundle budget ok: at most ${kb.toFixed(1)} KB (${worst.page}) of ${limitKb} KB`);
