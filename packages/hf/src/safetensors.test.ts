import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { readSafetensorsHeader } from "./safetensors-header.js";
import { encodeSafetensorsHeader, SafetensorsStreamWriter, writeSafetensors } from "./safetensors-writer.js";

const dir = mkdtempSync(join(tmpdir(), "hf-safetensors-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A file whose header is `header` (any JSON) followed by `dataBytes` bytes. */
function rawFile(header: unknown, dataBytes: number): string {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, `f${n++}.safetensors`);
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes, 7)]));
  return path;
}

function rejects(path: string, pattern: RegExp): void {
  assert.throws(
    () => readSafetensorsHeader(path),
    (e: unknown) => isUserError(e) && e.code === "invalid_checkpoint" && pattern.test(e.message),
  );
}

const f32 = (shape: number[], begin: number) => ({
  dtype: "F32",
  shape,
  data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)],
});

describe("safetensors header validation", () => {
  test("a valid file lists tensors in data order with absolute offsets", () => {
    const path = rawFile({ __metadata__: { format: "pt" }, b: f32([2], 8), a: f32([2], 0) }, 16);
    const h = readSafetensorsHeader(path);
    assert.deepEqual(h.metadata, { format: "pt" });
    assert.deepEqual(
      h.tensors.map((t) => [t.name, t.dataOffset - h.dataStart, t.byteLength]),
      [
        ["a", 0, 8],
        ["b", 8, 8],
      ],
    );
  });
  test("file shorter than the length prefix", () => {
    const path = join(dir, "tiny.safetensors");
    writeFileSync(path, Buffer.from([1, 2, 3]));
    rejects(path, /truncated/);
  });
  test("truncated data section", () => {
    const path = rawFile({ a: f32([4], 0) }, 16);
    truncateSync(path, readFileSync(path).length - 3);
    rejects(path, /file is truncated: the header describes 16 bytes of tensor data but the file holds 13/);
  });
  test("header length beyond the file", () => {
    const path = rawFile({ a: f32([1], 0) }, 4);
    const b = readFileSync(path);
    b.writeBigUInt64LE(1n << 40n, 0);
    writeFileSync(path, b);
    rejects(path, /header length 1099511627776 is beyond the end of the file/);
  });
  test("header that is not JSON", () => rejects(rawFile("{not json", 0), /header is not valid JSON/));
  test("header that is JSON but not an object", () =>
    rejects(rawFile("[1,2]", 0), /header does not start with '\{'/));
  test("overlapping data offsets", () => {
    rejects(
      rawFile({ a: f32([2], 0), b: f32([2], 4) }, 12),
      /tensor "b" data offsets \[4, 12\] overlap tensor "a"/,
    );
  });
  test("out-of-range data offsets", () => {
    rejects(rawFile({ a: f32([2], 0), b: f32([2], 64) }, 16), /"b" data offsets \[64, 72\] are out of range/);
    rejects(
      rawFile({ a: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, 8),
      /out of range \(end before start\)/,
    );
  });
  test("a gap between tensors", () =>
    rejects(rawFile({ a: f32([1], 0), b: f32([1], 8) }, 12), /leave a gap/));
  test("dtype/shape that disagrees with the byte length", () => {
    rejects(
      rawFile({ a: { dtype: "F16", shape: [2, 2], data_offsets: [0, 16] } }, 16),
      /dtype F16 with shape \[2, 2\] needs 8 bytes but its data offsets span 16/,
    );
  });
  test("unknown dtype and malformed entries", () => {
    rejects(
      rawFile({ a: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, 1),
      /unsupported dtype "F8_E4M3"/,
    );
    rejects(rawFile({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4), /invalid shape/);
    rejects(rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, 4), /invalid data_offsets/);
  });
  test("missing file", () => rejects(join(dir, "nope.safetensors"), /no such file/));
  test("a tensor name that is not valid UTF-8", () => {
    const json = Buffer.from(JSON.stringify({ "model.norm.w_ight": f32([1], 0) }));
    json[json.indexOf("_")] = 0xff; // a lone byte that is no UTF-8 sequence
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const path = join(dir, "utf8.safetensors");
    writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(4)]));
    rejects(path, /header is not valid UTF-8/);
  });
  test("a header length one byte short (the last header byte is padding) shifts the data: refused", () => {
    const path = join(dir, "short-length.safetensors");
    writeSafetensors(path, [{ name: "a", dtype: "F32", shape: [1], data: new Uint8Array(4) }]);
    const bytes = readFileSync(path);
    assert.equal(bytes[readSafetensorsHeader(path).dataStart - 1], 0x20); // the writer pads with spaces
    bytes.writeBigUInt64LE(bytes.readBigUInt64LE(0) - 1n, 0);
    writeFileSync(path, bytes);
    rejects(path, /describes 4 bytes of tensor data but the data section holds 5/);
  });
  test("trailing bytes after the last tensor", () =>
    rejects(rawFile({ a: f32([1], 0) }, 5), /describes 4 bytes .* holds 5/));
  test("an empty header is a file without tensors; deep nesting, empty names and bad metadata are refused", () => {
    assert.deepEqual(readSafetensorsHeader(rawFile({}, 0)).tensors, []);
    rejects(rawFile(`{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`, 0), /more than 4 levels deep/);
    rejects(rawFile({ "": f32([1], 0) }, 4), /empty name/);
    rejects(
      rawFile({ __metadata__: { format: 1 }, a: f32([1], 0) }, 4),
      /__metadata__ values must be strings/,
    );
    rejects(rawFile(` {"a":1}`, 0), /does not start with/);
  });
});

describe("safetensors writer", () => {
  test("round trip: header padded to 8 bytes, data in order", () => {
    const path = join(dir, "w.safetensors");
    const a = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const b = new Uint8Array([9, 10]);
    writeSafetensors(path, [
      { name: "a", dtype: "F32", shape: [2], data: a },
      { name: "b", dtype: "BF16", shape: [1], data: b },
    ]);
    const bytes = readFileSync(path);
    const h = readSafetensorsHeader(path);
    assert.equal(h.dataStart % 8, 0);
    assert.deepEqual(h.metadata, { format: "pt" });
    const [ta, tb] = h.tensors;
    assert.deepEqual([...bytes.subarray(ta.dataOffset, ta.dataOffset + 8)], [...a]);
    assert.deepEqual([...bytes.subarray(tb.dataOffset, tb.dataOffset + 2)], [...b]);
    assert.equal(bytes.length, h.dataStart + 10);
  });
  test("data of the wrong size is refused", () => {
    assert.throws(() =>
      writeSafetensors(join(dir, "x.safetensors"), [
        { name: "a", dtype: "F32", shape: [2], data: new Uint8Array(4) },
      ]),
    );
  });
  test("stream writer takes chunks of any size and checks the total", async () => {
    const specs = [
      { name: "x", dtype: "F16" as const, shape: [3, 5] },
      { name: "y", dtype: "U8" as const, shape: [7] },
    ];
    const path = join(dir, "stream.safetensors");
    const w = await SafetensorsStreamWriter.create(path, specs);
    const data = Buffer.from(Array.from({ length: 37 }, (_, i) => i));
    await w.append(data.subarray(0, 5));
    await w.append(data.subarray(5), 32);
    await w.close();
    const h = readSafetensorsHeader(path);
    assert.deepEqual(readFileSync(path).subarray(h.dataStart), data);
    assert.deepEqual(
      encodeSafetensorsHeader(specs, { format: "pt" }),
      readFileSync(path).subarray(0, h.dataStart),
    );

    const short = await SafetensorsStreamWriter.create(join(dir, "short.safetensors"), specs);
    await short.append(data.subarray(0, 10));
    await assert.rejects(short.close(), /closed after 10 of 37/);
  });
});
