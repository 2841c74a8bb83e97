// Writes a result folder all-or-nothing: everything goes into a hidden temporary folder beside the
// target, which is renamed into place only when complete. On failure the temporary folder is removed,
// so the target is either absent, untouched (an existing one) or complete.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { UserError } from "@shortened/contracts";

export function checkOutputTarget(out: string, force: boolean, protectedDirs: string[] = []): string {
  const abs = resolve(out);
  for (const p of protectedDirs.map((d) => resolve(d))) {
    if (abs === p || isInside(p, abs) || isInside(abs, p)) {
      throw new UserError(
        "bad_request",
        `--out ${out} must not be, contain or lie inside the input folder ${p}`,
      );
    }
  }
  if (existsSync(abs) && !force) {
    throw new UserError("output_exists", `--out ${out} already exists (pass --force to replace it)`);
  }
  return abs;
}

export async function writeFolderAtomically<T>(
  out: string,
  fill: (tmpDir: string) => Promise<T>,
): Promise<T> {
  const abs = resolve(out);
  const parent = dirname(abs);
  mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const tmp = join(parent, `.${basename(abs)}.tmp-${tag}`);
  mkdirSync(tmp);
  let result: T;
  try {
    result = await fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(abs)) {
    // --force: move the old folder aside first so that a failed rename cannot lose both.
    const old = join(parent, `.${basename(abs)}.old-${tag}`);
    renameSync(abs, old);
    try {
      renameSync(tmp, abs);
    } catch (e) {
      renameSync(old, abs);
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    rmSync(old, { recursive: true, force: true });
  } else {
    try {
      renameSync(tmp, abs);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  return result;
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep) && rel !== "..";
}
