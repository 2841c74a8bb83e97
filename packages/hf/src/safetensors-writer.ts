// Writes .safetensors files: the header first (offsets planned from the tensor list), then the tensor
// bytes in the same order, appended in chunks so that no caller has to hold a whole file in memory.
import { closeSync, openSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { DTYPE_BYTES, type StoredDtype } from "./dtypes.js";
import { IO_PIECE_BYTES, writeAll, writeAllSync } from "./io-pieces.js";

export interface TensorSpec {
  name: string;
  dtype: StoredDtype;
  shape: number[];
}

export interface TensorData extends TensorSpec {
  data: Uint8Array;
}

export function tensorByteLength(t: TensorSpec): number {
  return t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
}

/** The header bytes (u64 length + JSON padded with spaces to a multiple of 8) for tensors in this order. */
export function encodeSafetensorsHeader(
  tensors: TensorSpec[],
  metadata: Record<string, string> | null,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header["__metadata__"] = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (Object.hasOwn(header, t.name)) throw new Error(`duplicate tensor name ${t.name}`);
    const end = offset + tensorByteLength(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}

/** Tensors already in memory, written synchronously (each in pieces of at most `pieceBytes`). */
export function writeSafetensors(
  path: string,
  tensors: TensorData[],
  metadata: Record<string, string> | null = { format: "pt" },
  pieceBytes = IO_PIECE_BYTES,
): void {
  for (const t of tensors) {
    if (t.data.byteLength !== tensorByteLength(t)) {
      throw new Error(`tensor ${t.name}: ${t.data.byteLength} bytes given, ${tensorByteLength(t)} expected`);
    }
  }
  const fd = openSync(path, "w");
  try {
    writeAllSync(fd, encodeSafetensorsHeader(tensors, metadata));
    for (const t of tensors) writeAllSync(fd, t.data, null, pieceBytes);
  } finally {
    closeSync(fd);
  }
}

/**
 * Streaming writer: `create` writes the header, then `append` takes the tensor bytes in header order, in
 * chunks of any size; `close` checks that exactly the announced number of bytes arrived.
 */
export class SafetensorsStreamWriter {
  private written = 0;
  private constructor(
    private readonly handle: FileHandle,
    private readonly headerBytes: number,
    readonly dataBytes: number,
    private readonly pieceBytes: number,
  ) {}

  static async create(
    path: string,
    tensors: TensorSpec[],
    metadata: Record<string, string> | null = { format: "pt" },
    pieceBytes = IO_PIECE_BYTES,
  ): Promise<SafetensorsStreamWriter> {
    const header = encodeSafetensorsHeader(tensors, metadata);
    const handle = await open(path, "wx");
    try {
      await handle.write(header, 0, header.length, 0);
    } catch (e) {
      await handle.close();
      throw e;
    }
    const dataBytes = tensors.reduce((a, t) => a + tensorByteLength(t), 0);
    return new SafetensorsStreamWriter(handle, header.length, dataBytes, pieceBytes);
  }

  async append(chunk: Uint8Array, length = chunk.byteLength): Promise<void> {
    if (this.written + length > this.dataBytes)
      throw new Error("more tensor bytes than the header announced");
    await writeAll(this.handle, chunk, length, this.headerBytes + this.written, this.pieceBytes);
    this.written += length;
  }

  async close(): Promise<void> {
    await this.handle.close();
    if (this.written !== this.dataBytes) {
      throw new Error(`safetensors writer closed after ${this.written} of ${this.dataBytes} tensor bytes`);
    }
  }

  /** Closes without the completeness check (used when aborting). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}
