// Positioned reads of checkpoint tensors widened to float32 into buffers the caller owns (no allocation per
// read, so streamed execution holds exactly one block's weights): stored bytes go through a fixed scratch
// buffer in chunks, BF16 by a shift, F16 by a table, F32 copied.
import { closeSync, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import { UserError } from "@shortened/contracts";
import { type Checkpoint, halfToFloat } from "@shortened/hf";

const SCRATCH_BYTES = 16 * 2 ** 20;

let halfTable: Float32Array | null = null;
function halves(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

export class TensorReader {
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  private readonly fds = new Map<string, number>();

  constructor(readonly checkpoint: Checkpoint) {}

  /** Elements [start, start + out.length) of the flattened tensor `name`, widened into `out`. */
  readInto(name: string, out: Float32Array, start = 0): Float32Array {
    // a GPTQ linear's weight: dequantized whole (exact), then the asked range
    if (this.checkpoint.quantizedModule(name)) {
      out.set(this.checkpoint.readFloat32(name).subarray(start, start + out.length));
      return out;
    }
    const t = this.checkpoint.entry(name);
    const size =
      t.dtype === "F32" ? 4 : t.dtype === "F16" || t.dtype === "BF16" ? 2 : t.dtype === "F64" ? 8 : 0;
    if (size === 0) throw new UserError("invalid_checkpoint", `tensor ${name} is ${t.dtype}, not a float`);
    if ((start + out.length) * size > t.byteLength)
      throw new Error(`read past the end of ${name}: elements ${start}..${start + out.length}`);
    const fd = this.fd(t.file);
    const perChunk = Math.floor(SCRATCH_BYTES / size);
    for (let done = 0; done < out.length; ) {
      const n = Math.min(perChunk, out.length - done);
      const bytes = n * size;
      const position = t.dataOffset + (start + done) * size;
      for (let got = 0; got < bytes; ) {
        const r = readSync(fd, this.scratch, got, bytes - got, position + got);
        if (r === 0)
          throw new UserError("invalid_checkpoint", `${basename(t.file)} ended inside tensor ${name}`);
        got += r;
      }
      widen(this.scratch, n, t.dtype, out, done);
      done += n;
    }
    return out;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      fd = openSync(file, "r");
      this.fds.set(file, fd);
    }
    return fd;
  }
}

function widen(src: Uint8Array, n: number, dtype: string, out: Float32Array, at: number): void {
  switch (dtype) {
    case "F32":
      new Uint8Array(out.buffer, out.byteOffset + at * 4, n * 4).set(src.subarray(0, n * 4));
      return;
    case "BF16": {
      const u16 = new Uint16Array(src.buffer, src.byteOffset, n);
      const bits = new Uint32Array(out.buffer, out.byteOffset + at * 4, n);
      for (let i = 0; i < n; i++) bits[i] = u16[i]! << 16;
      return;
    }
    case "F16": {
      const u16 = new Uint16Array(src.buffer, src.byteOffset, n);
      const table = halves();
      for (let i = 0; i < n; i++) out[at + i] = table[u16[i]!]!;
      return;
    }
    default: {
      const view = new DataView(src.buffer, src.byteOffset, n * 8);
      for (let i = 0; i < n; i++) out[at + i] = view.getFloat64(i * 8, true);
    }
  }
}
