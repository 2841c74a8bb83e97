// Reads and validates the header of a .safetensors file without touching tensor data:
// u64 LE header length, a JSON header, then a data section the header's offsets point into.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import { UserError } from "@shortened/contracts";
import { decodeUtf8Strict, parseBoundedJson } from "./bounded-json.js";
import { DTYPE_BYTES, isStoredDtype, type StoredDtype } from "./dtypes.js";

export interface TensorEntry {
  name: string;
  dtype: StoredDtype;
  shape: number[];
  /** absolute path of the file that holds the tensor */
  file: string;
  /** absolute byte offset of the tensor's first byte in `file` */
  dataOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  /** 8 + header length: where offset 0 of the data section is */
  dataStart: number;
  metadata: Record<string, string> | null;
  /** in data order */
  tensors: TensorEntry[];
}

/** The safetensors reference implementation refuses headers above 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;
/** header → tensor → shape: 3 levels; one more tolerates an extra field a writer may add. */
const MAX_HEADER_DEPTH = 4;

export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openFile(file);
  try {
    const stat = fstatSync(fd);
    const fileSize = stat.size;
    const bad = (msg: string): UserError => new UserError("invalid_checkpoint", `${basename(file)}: ${msg}`);
    if (!stat.isFile()) throw bad("is not a file");
    if (fileSize < 8) throw bad(`file is truncated (${fileSize} bytes, less than the 8-byte header length)`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(fileSize - 8)) {
      throw bad(`header length ${headerLen} is beyond the end of the file (${fileSize} bytes)`);
    }
    if (headerLen > BigInt(MAX_HEADER_BYTES))
      throw bad(`header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes`);
    const hlen = Number(headerLen);
    const headerBuf = Buffer.alloc(hlen);
    readSync(fd, headerBuf, 0, hlen, 8);
    if (headerBuf[0] !== 0x7b) throw bad("header does not start with '{'");
    const json = parseBoundedJson(
      decodeUtf8Strict(headerBuf, `${basename(file)}: header`),
      { maxBytes: MAX_HEADER_BYTES, maxDepth: MAX_HEADER_DEPTH },
      `${basename(file)}: header`,
    );
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw bad("header is not a JSON object");
    const dataStart = 8 + hlen;
    const { tensors, metadata } = parseEntries(json as Record<string, unknown>, file, dataStart, bad);
    checkLayout(tensors, fileSize - dataStart, dataStart, bad);
    return { file, fileSize, dataStart, metadata, tensors };
  } finally {
    closeSync(fd);
  }
}

function openFile(file: string): number {
  try {
    return openSync(file, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      "invalid_checkpoint",
      `cannot open ${file}${code === "ENOENT" ? ": no such file" : `: ${code}`}`,
    );
  }
}

function parseEntries(
  header: Record<string, unknown>,
  file: string,
  dataStart: number,
  bad: (m: string) => UserError,
): { tensors: TensorEntry[]; metadata: Record<string, string> | null } {
  let metadata: Record<string, string> | null = null;
  const tensors: TensorEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw bad("__metadata__ is not an object");
      if (!Object.values(value).every((v) => typeof v === "string"))
        throw bad("__metadata__ values must be strings");
      metadata = value as Record<string, string>;
      continue;
    }
    if (name === "") throw bad("a tensor has an empty name");
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw bad(`tensor "${name}" has no description`);
    const info = value as Record<string, unknown>;
    const { dtype, shape, data_offsets: offsets } = info;
    if (!isStoredDtype(dtype)) throw bad(`tensor "${name}" has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`tensor "${name}" has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      throw bad(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin)
      throw bad(`tensor "${name}" data offsets [${begin}, ${end}] are out of range (end before start)`);
    // BigInt: the element count of a hostile shape may pass 2^53, where float products are inexact.
    const expected = (shape as number[]).reduce((a, b) => a * BigInt(b), BigInt(DTYPE_BYTES[dtype]));
    if (expected !== BigInt(end - begin)) {
      throw bad(
        `tensor "${name}" dtype ${dtype} with shape [${shape.join(", ")}] needs ${expected} bytes but its data offsets span ${end - begin}`,
      );
    }
    tensors.push({
      name,
      dtype,
      shape: shape as number[],
      file,
      dataOffset: dataStart + begin,
      byteLength: end - begin,
    });
  }
  return { tensors, metadata };
}

// Tensors must tile the data section: no overlaps, no gaps, nothing past the end of the file.
function checkLayout(
  tensors: TensorEntry[],
  dataLength: number,
  dataStart: number,
  bad: (m: string) => UserError,
): void {
  tensors.sort((a, b) => a.dataOffset - b.dataOffset || a.byteLength - b.byteLength);
  let covered = 0;
  let previous: TensorEntry | null = null;
  for (const t of tensors) {
    const begin = t.dataOffset - dataStart;
    const end = begin + t.byteLength;
    if (begin < covered) {
      throw bad(`tensor "${t.name}" data offsets [${begin}, ${end}] overlap tensor "${previous?.name}"`);
    }
    if (begin > covered) {
      const where =
        end > dataLength
          ? `are out of range (the data section holds ${dataLength} bytes)`
          : `leave a gap after byte ${covered}`;
      throw bad(`tensor "${t.name}" data offsets [${begin}, ${end}] ${where}`);
    }
    covered = end;
    previous = t;
  }
  if (covered > dataLength) {
    throw bad(
      `file is truncated: the header describes ${covered} bytes of tensor data but the file holds ${dataLength}`,
    );
  }
  // As the reference implementation: the data section is exactly the tensors, so a header length that is off
  // (which would shift every tensor's bytes) or trailing bytes cannot pass.
  if (covered < dataLength) {
    throw bad(
      `the header describes ${covered} bytes of tensor data but the data section holds ${dataLength} (header length wrong or trailing bytes)`,
    );
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
