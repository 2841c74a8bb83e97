// Float32 tensors to and from a .safetensors file (adapters, training state).
import { closeSync, openSync, readSync } from "node:fs";
import { bytesToFloat32 } from "./dtypes.js";
import { readSafetensorsHeader } from "./safetensors-header.js";
import { writeSafetensors } from "./safetensors-writer.js";

export interface NamedTensor {
  dims: number[];
  data: Float32Array;
}

export function readTensorFile(path: string): Map<string, NamedTensor> {
  const header = readSafetensorsHeader(path);
  const out = new Map<string, NamedTensor>();
  const fd = openSync(path, "r");
  try {
    for (const t of header.tensors) {
      const buf = Buffer.alloc(t.byteLength);
      readSync(fd, buf, 0, t.byteLength, t.dataOffset);
      out.set(t.name, { dims: t.shape, data: bytesToFloat32(buf, t.dtype) });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Writes F32 tensors sorted by name (the layout torch's safetensors writer produces). */
export function writeTensorFile(path: string, tensors: Map<string, NamedTensor>): void {
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
  );
}
