// Positioned reads and writes of any size, in pieces: one fs call moves at most 2 GiB (Node's kIoMaxLength),
// so a tensor over 2 GiB (Qwen2.5-7B's float32 embedding is 2.2 GB) goes through several calls. The piece size
// is a parameter so that tests exercise the loop with tiny pieces instead of multi-GB tensors.
import { readSync, writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";

/** Default bytes per read/write call: well under the 2 GiB limit of a single call. */
export const IO_PIECE_BYTES = 1 << 30;

/** Writes all of `bytes` at `position` (or at the current file position when null); returns the byte count. */
export function writeAllSync(
  fd: number,
  bytes: Uint8Array,
  position: number | null = null,
  pieceBytes = IO_PIECE_BYTES,
): number {
  for (let done = 0; done < bytes.byteLength; ) {
    const len = Math.min(pieceBytes, bytes.byteLength - done);
    done += writeSync(fd, bytes, done, len, position === null ? null : position + done);
  }
  return bytes.byteLength;
}

/** Fills `into` from `position`; `onShort` makes the error when the file ends first. */
export function readAllSync(
  fd: number,
  into: Uint8Array,
  position: number,
  onShort: () => Error,
  pieceBytes = IO_PIECE_BYTES,
): void {
  for (let done = 0; done < into.byteLength; ) {
    const n = readSync(fd, into, done, Math.min(pieceBytes, into.byteLength - done), position + done);
    if (n === 0) throw onShort();
    done += n;
  }
}

/** The async write of all of `bytes[0, length)` at `position`, in pieces. */
export async function writeAll(
  handle: FileHandle,
  bytes: Uint8Array,
  length: number,
  position: number,
  pieceBytes = IO_PIECE_BYTES,
): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await handle.write(
      bytes,
      done,
      Math.min(pieceBytes, length - done),
      position + done,
    );
    done += bytesWritten;
  }
}
