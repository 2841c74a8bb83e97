// Float32 tensors to and from a .safetensors file (adapters, training state), each read and written in pieces
// of at most `pieceBytes` (tensors may exceed the 2 GiB of one fs call).
import { closeSync, openSync } from "node:fs";
import { basename } from "node:path";
import { UserError } from "@shortened/contracts";
import { bytesToFloat32 } from "./dtypes.js";
import { IO_PIECE_BYTES, readAllSync } from "./io-pieces.js";
import { readSafetensorsHeader } from "./safetensors-header.js";
import { writeSafetensors } from "./safetensors-writer.js";

export interface NamedTensor {
  dims: number[];
  data: Float32Array;
}

export function readTensorFile(path: string, pieceBytes = IO_PIECE_BYTES): Map<string, NamedTensor> {
  const header = readSafetensorsHeader(path);
  const out = new Map<string, NamedTensor>();
  const fd = openSync(path, "r");
  try {
    for (const t of header.tensors) {
      const buf = Buffer.allocUnsafe(t.byteLength);
      const short = () => new UserError("invalid_data", `${basename(path)} ended inside tensor ${t.name}`);
      readAllSync(fd, buf, t.dataOffset, short, pieceBytes);
      out.set(t.name, { dims: t.shape, data: bytesToFloat32(buf, t.dtype) });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Writes F32 tensors sorted by name (the layout torch's safetensors writer produces). */
export function writeTensorFile(
  path: string,
  tensors: Map<string, NamedTensor>,
  pieceBytes = IO_PIECE_BYTES,
): void {
  const names = [...tensors.keys()].sort();
  writeSafetensors(
    path,
    names.map((name) => {
      const t = tensors.get(name)!;
      return {
        name,
        dtype: "F32" as const,
        shape: t.dims,
        data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      };
    }),
    { format: "pt" },
    pieceBytes,
  );
}
