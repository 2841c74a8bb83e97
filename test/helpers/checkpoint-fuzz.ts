// Tries a malformed checkpoint (./checkpoint-mutations.ts) the two ways a user can hand one to Shortened, and
// says whether it was refused cleanly: through the CLI (exit 2, one `error:` line on stderr, nothing written at
// --out) and through registration by upload (a 4xx with the error shape, and no model, version, artifact or
// stored object left behind). Shared by test/checkpoint-fuzz.test.ts (a sample) and bench/checkpoint-fuzz.ts (all).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./cli.js";
import type { TeamsRig } from "./teams-app.js";

export interface Outcome {
  clean: boolean;
  /** what happened, in one line: the error line, or why the outcome is not clean */
  detail: string;
}

/** The CLI commands a malformed checkpoint is tried with, rotated over the cases. */
export const CLI_COMMANDS = ["inspect", "prune", "eval ppl"] as const;
export type CliCommand = (typeof CLI_COMMANDS)[number];

/** Runs `command` on the folder `model`; `work` is a scratch folder (its `out` must not exist). */
export function tryCli(model: string, command: CliCommand, work: string): Outcome {
  const out = join(work, "out");
  const ids = join(work, "ids.json");
  if (!existsSync(ids)) writeFileSync(ids, JSON.stringify(FUZZ_IDS));
  const args =
    command === "inspect"
      ? ["inspect", "--model", model, "--json"]
      : command === "prune"
        ? ["prune", "--model", model, "--remove", "1", "--out", out, "--json"]
        : ["eval", "ppl", "--model", model, "--ids", ids, "--seq-len", "8", "--json"];
  const r = runCli(args, { timeoutMs: 120_000 });
  const lines = r.stderr.trim().split("\n");
  if (r.code !== 2) return { clean: false, detail: `exit ${r.code}: ${r.stderr.trim().slice(0, 300)}` };
  if (lines.length !== 1 || !lines[0]!.startsWith("error: "))
    return { clean: false, detail: `stderr is not one error line: ${r.stderr.slice(0, 300)}` };
  if (r.stdout !== "") return { clean: false, detail: `stdout not empty: ${r.stdout.slice(0, 200)}` };
  if (existsSync(out)) return { clean: false, detail: `${out} was written` };
  return { clean: true, detail: lines[0]! };
}

/** A token stream for `eval ppl`, within the vocabulary of the base model (64). */
const FUZZ_IDS = { ids: Array.from({ length: 40 }, (_, i) => (i * 7) % 60) };

/** What registration may leave behind: rows of the registry and objects of the artifact store. */
async function footprint(rig: TeamsRig): Promise<string> {
  const p = rig.db.prisma;
  const counts = await Promise.all([p.model.count(), p.modelVersion.count(), p.artifact.count()]);
  return `${counts.join("/")}/${countFiles(rig.store.root)}`;
}

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}

const CHECKPOINT_CODES: unknown[] = ["invalid_checkpoint", "unsupported_model"];

/** Uploads the folder as a tar to POST /v1/models/upload with team A's member key. */
export async function tryUpload(rig: TeamsRig, model: string, name: string): Promise<Outcome> {
  const before = await footprint(rig);
  const tar = execFileSync("tar", ["-cf", "-", "-C", model, "."], { maxBuffer: 64 * 1024 * 1024 });
  const res = await fetch(`${rig.url}/v1/models/upload?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${rig.a.member}`, "content-type": "application/x-tar" },
    body: tar,
  });
  const text = await res.text();
  const after = await footprint(rig);
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {}
  if (res.status < 400 || res.status >= 500)
    return { clean: false, detail: `HTTP ${res.status}: ${text.slice(0, 300)}` };
  if (typeof error?.code !== "string" || typeof error.message !== "string")
    return { clean: false, detail: `HTTP ${res.status} without the error shape: ${text.slice(0, 300)}` };
  if (before !== after) return { clean: false, detail: `stored something: ${before} -> ${after}` };
  // refused for the checkpoint, not for something else about the request
  if (!CHECKPOINT_CODES.includes(error.code))
    return { clean: false, detail: `refused with ${error.code}: ${error.message}` };
  return { clean: true, detail: `${res.status} ${error.code}: ${error.message}` };
}
