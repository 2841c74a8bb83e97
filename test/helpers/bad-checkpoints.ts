// Builds broken copies of a tiny committed checkpoint for bad-input tests (each one a single defect).
import { cpSync, mkdtempSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const fixtures = new URL("../../packages/hf/src/fixtures/prune/", import.meta.url).pathname;
export const singleFileModel = join(fixtures, "llama-f32-untied/model"); // 4 blocks, F32
export const shardedModel = join(fixtures, "qwen2-bf16-sharded/model"); // 4 blocks, 2 shards

export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function copyModel(src: string, dest: string): string {
  cpSync(src, dest, { recursive: true });
  return dest;
}

type Header = Record<
  string,
  { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
>;

/** Rewrites the JSON header of a safetensors file (data section unchanged). */
export function rewriteHeader(file: string, edit: (h: Header) => void): void {
  const bytes = readFileSync(file);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString("utf8")) as Header;
  edit(header);
  writeHeaderBytes(file, Buffer.from(JSON.stringify(header)), bytes.subarray(8 + len));
}

export function writeHeaderBytes(file: string, json: Buffer, data: Buffer): void {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([prefix, json, data]));
}

export type Defect =
  | "truncated"
  | "header-beyond-file"
  | "header-not-json"
  | "overlapping-offsets"
  | "out-of-range-offsets"
  | "dtype-shape-mismatch"
  | "missing-shard"
  | "unsupported-model-type";

/** A copy of a tiny model with one defect, at `dest`. */
export function brokenModel(defect: Defect, dest: string): string {
  if (defect === "missing-shard") {
    copyModel(shardedModel, dest);
    unlinkSync(join(dest, "model-00002-of-00002.safetensors"));
    return dest;
  }
  copyModel(singleFileModel, dest);
  const st = join(dest, "model.safetensors");
  switch (defect) {
    case "truncated":
      truncateSync(st, readFileSync(st).length - 100);
      break;
    case "header-beyond-file": {
      const b = readFileSync(st);
      b.writeBigUInt64LE(BigInt(b.length), 0);
      writeFileSync(st, b);
      break;
    }
    case "header-not-json": {
      const b = readFileSync(st);
      const len = Number(b.readBigUInt64LE(0));
      writeHeaderBytes(
        st,
        Buffer.from(`{"a": nope${" ".repeat(len - 10)}`.slice(0, len)),
        b.subarray(8 + len),
      );
      break;
    }
    case "overlapping-offsets":
      rewriteHeader(st, (h) => {
        const t = h["model.norm.weight"] as { data_offsets: [number, number] };
        t.data_offsets = [t.data_offsets[0] - 8, t.data_offsets[1] - 8];
      });
      break;
    case "out-of-range-offsets":
      rewriteHeader(st, (h) => {
        const t = h["model.norm.weight"] as { data_offsets: [number, number] };
        t.data_offsets = [t.data_offsets[0] + 1_000_000, t.data_offsets[1] + 1_000_000];
      });
      break;
    case "dtype-shape-mismatch":
      rewriteHeader(st, (h) => {
        (h["model.norm.weight"] as { dtype: string }).dtype = "F16";
      });
      break;
    case "unsupported-model-type": {
      const cfg = JSON.parse(readFileSync(join(dest, "config.json"), "utf8"));
      writeFileSync(
        join(dest, "config.json"),
        JSON.stringify({ ...cfg, model_type: "gpt2", architectures: ["GPT2LMHeadModel"] }),
      );
      break;
    }
  }
  return dest;
}
