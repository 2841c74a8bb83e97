import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { extractTar } from "./tar.js";

function header(name: string, size: number, type = "0"): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write("0000644\0", 100);
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  h.write(type, 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  return h;
}

test("extracts the files of a tar made by GNU tar, folders included", async () => {
  const src = mkdtempSync(join(tmpdir(), "tar-src-"));
  const out = mkdtempSync(join(tmpdir(), "tar-out-"));
  try {
    mkdirSync(join(src, "sub"));
    writeFileSync(join(src, "config.json"), '{"a":1}');
    writeFileSync(join(src, "sub", "w.bin"), Buffer.alloc(1500, 3));
    const tar = execFileSync("tar", ["-cf", "-", "-C", src, "."]);
    const files = await extractTar(Readable.from([tar.subarray(0, 700), tar.subarray(700)]), out, 1e9);
    assert.deepEqual(files.sort(), ["config.json", "sub/w.bin"]);
    assert.equal(readFileSync(join(out, "config.json"), "utf8"), '{"a":1}');
    assert.equal(readFileSync(join(out, "sub", "w.bin")).length, 1500);
  } finally {
    rmSync(src, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});

test("refuses paths outside the folder, links, non-tar input and oversized input", async () => {
  const out = mkdtempSync(join(tmpdir(), "tar-out-"));
  try {
    const evil = Buffer.concat([header("../evil.txt", 3), Buffer.from("abc"), Buffer.alloc(509 + 1024)]);
    await assert.rejects(extractTar(Readable.from([evil]), out, 1e9), /unsafe path/);
    const link = Buffer.concat([header("l", 0, "2"), Buffer.alloc(1024)]);
    await assert.rejects(extractTar(Readable.from([link]), out, 1e9), /only regular files/);
    await assert.rejects(extractTar(Readable.from([Buffer.alloc(600, 7)]), out, 1e9), /not a tar/);
    const big = Buffer.concat([header("a", 2000), Buffer.alloc(2048 + 1024)]);
    await assert.rejects(extractTar(Readable.from([big]), out, 1000), /exceeds/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
