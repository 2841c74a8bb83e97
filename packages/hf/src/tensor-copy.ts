// Copies tensor bytes from source files into safetensors writers through two fixed buffers: the next
// chunk is read while the previous one is written, so memory stays at 2 x CHUNK_BYTES whatever the size.
import { type FileHandle, open } from "node:fs/promises";
import { basename } from "node:path";
import { UserError } from "@shortened/contracts";
import type { TensorEntry } from "./safetensors-header.js";
import type { SafetensorsStreamWriter } from "./safetensors-writer.js";

export const CHUNK_BYTES = 8 * 1024 * 1024;

export class TensorCopier {
  private readonly handles = new Map<string, FileHandle>();
  private readonly buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
  private turn = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly onBytes: (n: number) => void = () => {}) {}

  /** Appends the stored bytes of `source` to `writer`. Call `flush` before closing the writer. */
  async copy(source: TensorEntry, writer: SafetensorsStreamWriter): Promise<void> {
    const fh = await this.handle(source.file);
    for (let done = 0; done < source.byteLength; ) {
      const buf = this.buffers[this.turn];
      this.turn ^= 1;
      const want = Math.min(CHUNK_BYTES, source.byteLength - done);
      const n = await readFully(fh, buf, want, source.dataOffset + done, source);
      await this.pending; // the other buffer's write must finish before this one is queued
      this.pending = writer.append(buf, n).then(() => this.onBytes(n));
      this.pending.catch(() => {}); // a failure surfaces at the next await, not as an unhandled rejection
      done += n;
    }
  }

  async flush(): Promise<void> {
    await this.pending;
  }

  async close(): Promise<void> {
    // Settle any in-flight write before closing (its error, if any, was already reported by flush).
    await this.pending.catch(() => {});
    for (const fh of this.handles.values()) await fh.close().catch(() => {});
    this.handles.clear();
  }

  private async handle(file: string): Promise<FileHandle> {
    let fh = this.handles.get(file);
    if (!fh) {
      fh = await open(file, "r");
      this.handles.set(file, fh);
    }
    return fh;
  }
}

async function readFully(
  fh: FileHandle,
  buf: Buffer,
  want: number,
  position: number,
  t: TensorEntry,
): Promise<number> {
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, position + got);
    if (bytesRead === 0) {
      throw new UserError(
        "invalid_checkpoint",
        `${basename(t.file)} ended inside tensor ${t.name} (file changed or truncated)`,
      );
    }
    got += bytesRead;
  }
  return got;
}
