// Positioned reads of checkpoint tensors widened to float32 into buffers the caller owns (no allocation per
// read, so streamed execution holds exactly one block's weights): stored bytes go through a fixed scratch
// buffer in chunks, BF16 by a shift, F16 by a table, F32 copied. Or rounded to float16 bits (a float16 stream):
// F16 copied, BF16 by a 65536-entry table (each BF16 value's float16 rounding, so one lookup instead of a
// rounding per element: ~10x faster, which is most of a float16 stream's time), F32 rounded per element; bit for
// bit what widening to float32 and rounding once gives.
import { closeSync, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import { UserError } from "@shortened/contracts";
import { type Checkpoint, float32ToF16Bytes, halfToFloat } from "@shortened/hf";

const SCRATCH_BYTES = 16 * 2 ** 20;

let halfTable: Float32Array | null = null;
function halves(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

let bf16ToF16Table: Uint16Array | null = null;
function bf16ToF16(): Uint16Array {
  if (!bf16ToF16Table) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = h << 16;
    const f16 = float32ToF16Bytes(new Float32Array(bits.buffer));
    bf16ToF16Table = new Uint16Array(f16.buffer, f16.byteOffset, 65536);
  }
  return bf16ToF16Table;
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
    this.readChunks(name, start, out.length, (src, n, dtype, at) => widen(src, n, dtype, out, at));
    return out;
  }

  /** The same elements rounded to float16 (nearest even) into `out`, as float16 bits. */
  readHalfInto(name: string, out: Uint16Array, start = 0): Uint16Array {
    if (this.checkpoint.quantizedModule(name)) {
      const values = this.checkpoint.readFloat32(name).subarray(start, start + out.length);
      out.set(new Uint16Array(float32ToF16Bytes(values).buffer));
      return out;
    }
    this.readChunks(name, start, out.length, (src, n, dtype, at) => toHalf(src, n, dtype, out, at));
    return out;
  }

  /** Reads `count` elements from `start` through the scratch buffer, handing each chunk to `take`. */
  private readChunks(
    name: string,
    start: number,
    count: number,
    take: (src: Uint8Array, n: number, dtype: string, at: number) => void,
  ): void {
    const t = this.checkpoint.entry(name);
    const size =
      t.dtype === "F32" ? 4 : t.dtype === "F16" || t.dtype === "BF16" ? 2 : t.dtype === "F64" ? 8 : 0;
    if (size === 0) throw new UserError("invalid_checkpoint", `tensor ${name} is ${t.dtype}, not a float`);
    if ((start + count) * size > t.byteLength)
      throw new Error(`read past the end of ${name}: elements ${start}..${start + count}`);
    const fd = this.fd(t.file);
    const perChunk = Math.floor(SCRATCH_BYTES / size);
    for (let done = 0; done < count; ) {
      const n = Math.min(perChunk, count - done);
      const bytes = n * size;
      const position = t.dataOffset + (start + done) * size;
      for (let got = 0; got < bytes; ) {
        const r = readSync(fd, this.scratch, got, bytes - got, position + got);
        if (r === 0)
          throw new UserError("invalid_checkpoint", `${basename(t.file)} ended inside tensor ${name}`);
        got += r;
      }
      take(this.scratch, n, t.dtype, done);
      done += n;
    }
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

function toHalf(src: Uint8Array, n: number, dtype: string, out: Uint16Array, at: number): void {
  switch (dtype) {
    case "F16":
      new Uint8Array(out.buffer, out.byteOffset + at * 2, n * 2).set(src.subarray(0, n * 2));
      return;
    case "BF16": {
      const u16 = new Uint16Array(src.buffer, src.byteOffset, n);
      const table = bf16ToF16();
      for (let i = 0; i < n; i++) out[at + i] = table[u16[i]!]!;
      return;
    }
    default: {
      // F32 / F64: widened to float32 (a copy of this chunk), then rounded
      const f32 = new Float32Array(n);
      widen(src, n, dtype, f32, 0);
      out.set(new Uint16Array(float32ToF16Bytes(f32).buffer), at);
    }
  }
}
