// A process that starts downloading a version into the cache and stops half-way, waiting to be killed
// (version-cache.test.ts kills it with SIGKILL to leave what a worker killed mid-download leaves).
// argv: <cacheDir> <version id>
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VersionCache } from "../version-cache.js";

const [cacheDir, id] = process.argv.slice(2) as [string, string];
await new VersionCache(cacheDir, 2 ** 30).acquire({
  id,
  bytes: async () => 2000,
  download: async (into) => {
    await writeFile(join(into, "config.json"), "{}");
    process.stdout.write("half\n");
    await new Promise(() => setInterval(() => {}, 1000)); // never finishes
  },
});
