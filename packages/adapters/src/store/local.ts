// Artifact store in a local folder (embedded mode). Writes go to a temporary name first and are renamed
// into place, so a reader never sees half a file.
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { type ArtifactStore, type StoredObject, UserError } from "@shortened/contracts";
import { contentTypeOf, sha256Bytes, sha256File } from "./hash.js";

export class LocalStore implements ArtifactStore {
  readonly kind = "local" as const;
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** A key's path, refusing keys that would leave the root. */
  pathOf(key: string): string {
    const p = resolve(this.root, key.replace(/^file:\/\//, ""));
    if (p !== this.root && !p.startsWith(this.root + sep))
      throw new UserError("bad_request", `key outside the store: ${key}`);
    return p;
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  async putFile(key: string, path: string, contentType?: string): Promise<StoredObject> {
    const dest = this.pathOf(key);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.partial-${process.pid}`;
    await copyFile(path, tmp);
    await rename(tmp, dest);
    const [sha256, info] = await Promise.all([sha256File(dest), stat(dest)]);
    return { key, size: info.size, sha256, contentType: contentType ?? contentTypeOf(key) };
  }

  async putBytes(key: string, bytes: Uint8Array, contentType?: string): Promise<StoredObject> {
    const dest = this.pathOf(key);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.partial-${process.pid}`;
    await writeFile(tmp, bytes);
    await rename(tmp, dest);
    return {
      key,
      size: bytes.byteLength,
      sha256: sha256Bytes(bytes),
      contentType: contentType ?? contentTypeOf(key),
    };
  }

  async getToFile(key: string, path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await copyFile(this.pathOf(key), path);
  }

  getBytes(key: string): Promise<Buffer> {
    return readFile(this.pathOf(key));
  }

  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const base = this.pathOf(prefix);
    const dir = prefix.endsWith("/") ? base : dirname(base);
    const out: { key: string; size: number }[] = [];
    const walk = async (d: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (!e.name.includes(".partial-")) {
          const key = relative(this.root, p).split(sep).join("/");
          if (key.startsWith(prefix.replace(/^\.\//, ""))) out.push({ key, size: (await stat(p)).size });
        }
      }
    };
    await walk(dir);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(keys: string[]): Promise<void> {
    for (const k of keys) await rm(this.pathOf(k), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = (await this.list(prefix)).map((o) => o.key);
    await this.delete(keys);
    return keys.length;
  }

  async downloadUrl(key: string): Promise<string> {
    return pathToFileURL(this.pathOf(key)).href;
  }
}
