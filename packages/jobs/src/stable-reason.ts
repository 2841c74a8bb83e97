// A job's failure reason is shown to its team and kept with the job: it must not carry this worker's local
// paths (`/var/cache/shortened/work/0190…-2/out/model.safetensors` names a machine's layout and an attempt
// number, and differs between two runs of the same failure). Paths under the attempt's scratch folder, the
// worker's cache and the system's temp folder become stable names: `work/…`, `cache/…`, `tmp/…`.
import { tmpdir } from "node:os";

/** Rewrites the local paths in `message`; `places` maps a folder to the name it is shown as. */
export function stableReason(message: string, places: [folder: string, name: string][]): string {
  message = withoutPrismaInvocation(message);
  const all: [string, string][] = [...places, [tmpdir(), "tmp"]];
  // Longest folder first: the scratch folder usually lies inside the cache, which may lie inside tmp.
  all.sort((a, b) => b[0].length - a[0].length);
  let out = message;
  for (const [folder, name] of all) {
    const f = folder.replace(/\/+$/, "");
    if (f.length < 2) continue;
    out = out.split(`${f}/`).join(`${name}/`).split(f).join(name);
  }
  // What remains of tmp/ (other processes' temp folders): keep only the file's own name.
  return out.replace(/\btmp\/[^\s'"`,:;)]*\/([^\s'"`,:;/)]+)/g, "tmp/…/$1");
}

/**
 * Prisma's errors quote the calling source file, line and code ("Invalid `tx.x.create()` invocation in
 * /srv/app/…/models.ts:94:26 … → 94 return tx…"): only its last part says what failed.
 */
function withoutPrismaInvocation(message: string): string {
  if (!/Invalid `[^`]+` invocation/.test(message)) return message;
  const kept = message
    .split("\n")
    .filter(
      (l) =>
        l.trim() &&
        !/Invalid `[^`]+` invocation/.test(l) &&
        !/^\s*(→\s*)?\d+\s/.test(l) &&
        !/^\S*\/\S+:\d+:\d+$/.test(l.trim()),
    );
  return `database error: ${kept.join(" ").trim()}`;
}
