// Extracts a (ustar / GNU / pax) tar stream of regular files into a folder. Only files and folders are
// accepted; absolute paths, "..", links and devices are refused as bad input.
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, normalize, sep } from "node:path";
import type { Readable } from "node:stream";
import { UserError } from "@shortened/contracts";

const BLOCK = 512;

function field(h: Buffer, start: number, len: number): string {
  const s = h.subarray(start, start + len);
  const end = s.indexOf(0);
  return s.subarray(0, end < 0 ? len : end).toString("utf8");
}

function safePath(root: string, name: string): string {
  const clean = normalize(name.replace(/^\.\/+/, ""));
  if (!clean || clean.startsWith("..") || clean.startsWith(sep) || clean.split(sep).includes(".."))
    throw new UserError("invalid_data", `tar member with an unsafe path: ${name}`);
  return join(root, clean);
}

/** Returns the relative paths of the files written. */
export async function extractTar(stream: Readable, root: string, maxBytes: number): Promise<string[]> {
  const files: string[] = [];
  let buf: Buffer = Buffer.alloc(0);
  let total = 0;
  let longName: string | null = null;
  let paxPath: string | null = null;
  // The current member being copied: bytes left to write and padding to skip.
  let member: {
    out: import("node:fs").WriteStream | null;
    left: number;
    pad: number;
    meta?: "L" | "x" | "g";
    metaBuf?: Buffer[];
  } | null = null;
  let zeroBlocks = 0;

  const writeChunk = (out: import("node:fs").WriteStream, chunk: Buffer) =>
    new Promise<void>((resolve, reject) => out.write(chunk, (e) => (e ? reject(e) : resolve())));

  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw new UserError("payload_too_large", `upload exceeds ${maxBytes} bytes`, 413);
    buf = buf.length ? Buffer.concat([buf, chunk as Buffer]) : (chunk as Buffer);
    for (;;) {
      if (member) {
        if (member.left > 0) {
          if (buf.length === 0) break;
          const n = Math.min(member.left, buf.length);
          const part = buf.subarray(0, n);
          if (member.out) await writeChunk(member.out, part);
          else member.metaBuf?.push(Buffer.from(part));
          member.left -= n;
          buf = buf.subarray(n);
          continue;
        }
        if (buf.length < member.pad) break;
        buf = buf.subarray(member.pad);
        if (member.out) await new Promise<void>((r) => member!.out!.end(r));
        if (member.meta === "L")
          longName = Buffer.concat(member.metaBuf!).toString("utf8").replace(/\0+$/, "");
        if (member.meta === "x") {
          const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.concat(member.metaBuf!).toString("utf8"));
          if (m) paxPath = m[1];
        }
        member = null;
        continue;
      }
      if (buf.length < BLOCK) break;
      const h = buf.subarray(0, BLOCK);
      buf = buf.subarray(BLOCK);
      if (h.every((b) => b === 0)) {
        zeroBlocks++;
        continue;
      }
      if (zeroBlocks >= 2) break;
      const size = Number.parseInt(field(h, 124, 12).trim() || "0", 8);
      if (!Number.isFinite(size) || size < 0)
        throw new UserError("invalid_data", "not a tar archive (bad member size)");
      const type = String.fromCharCode(h[156] || 48);
      const magic = field(h, 257, 6);
      if (!magic.startsWith("ustar"))
        throw new UserError("invalid_data", "not a tar archive (no ustar header)");
      const prefix = field(h, 345, 155);
      const name = paxPath ?? longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (type === "L" || type === "x" || type === "g") {
        member = { out: null, left: size, pad, meta: type, metaBuf: [] };
        continue;
      }
      longName = null;
      paxPath = null;
      if (type === "5") {
        await mkdir(safePath(root, name), { recursive: true });
        member = { out: null, left: size, pad };
      } else if (type === "0") {
        const path = safePath(root, name);
        await mkdir(dirname(path), { recursive: true });
        files.push(
          path
            .slice(root.length + 1)
            .split(sep)
            .join("/"),
        );
        member = { out: createWriteStream(path), left: size, pad };
      } else {
        throw new UserError(
          "invalid_data",
          `tar member ${name}: only regular files and folders are accepted`,
        );
      }
    }
  }
  if (member && (member.left > 0 || member.out))
    throw new UserError("invalid_data", "tar archive is truncated");
  return files;
}
