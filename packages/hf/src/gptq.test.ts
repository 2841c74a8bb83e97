// GPTQ checkpoints (fixtures/gptq, written by the float64 oracle's `gptq`; scripts/fixtures/gptq.sh): pack →
// unpack exact for 2/3/4/8 bits, the oracle's packed tensors reproduced bit for bit from the unpacked codes, the
// dequantized weights equal to the oracle's `dequant` exactly, and bad layouts refused at open with a reason.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isUserError } from "@shortened/contracts";
import { Checkpoint } from "./checkpoint.js";
import {
  packAlongCols,
  packAlongRows,
  unpackAlongCols,
  unpackAlongRows,
  zerosToStored,
} from "./gptq-pack.js";
import { pruneCheckpoint } from "./prune.js";
import { readSafetensorsHeader } from "./safetensors-header.js";
import { writeSafetensors } from "./safetensors-writer.js";

const fixtures = fileURLToPath(new URL("./fixtures/gptq/", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "hf-gptq-"));
after(() => rmSync(work, { recursive: true, force: true }));

const CASES = [
  { dir: "g32-act", bits: 4, groupSize: 32 },
  { dir: "b3-row", bits: 3, groupSize: -1 },
  { dir: "b2-g64-static", bits: 2, groupSize: 64 },
  { dir: "b8-g64-act", bits: 8, groupSize: 64 },
];

function randomCodes(n: number, bits: number, seed: number): Uint8Array {
  let s = seed;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 16) & ((1 << bits) - 1);
  }
  return out;
}

describe("GPTQ packing", () => {
  for (const bits of [2, 3, 4, 8]) {
    test(`${bits} bits: pack → unpack is exact along rows and along columns`, () => {
      const rows = 96;
      const cols = 64;
      const v = randomCodes(rows * cols, bits, bits);
      const byRows = packAlongRows(v, rows, cols, bits);
      assert.equal(byRows.length, ((rows * bits) / 32) * cols);
      assert.deepEqual(unpackAlongRows(byRows, rows, cols, bits), v);
      const byCols = packAlongCols(v, rows, cols, bits);
      assert.equal(byCols.length, rows * ((cols * bits) / 32));
      assert.deepEqual(unpackAlongCols(byCols, rows, cols, bits), v);
    });
  }

  test("3 bits: inputs 10 and 21 straddle words (AutoGPTQ's 3-word pattern)", () => {
    const v = new Uint8Array(32);
    v[10] = 0b111;
    v[21] = 0b101;
    const p = packAlongRows(v, 32, 1, 3);
    assert.deepEqual(
      [...p].map((w) => w >>> 0),
      [(0b11 << 30) >>> 0, ((0b1 << 0) | (0b1 << 31)) >>> 0, 0b10],
    );
  });

  test("v1 zero points store zero − 1: a symmetric 4-bit qzeros word is 0x77777777", () => {
    const zeros = new Uint8Array(8).fill(8);
    const p = packAlongCols(zerosToStored(zeros, 4, "gptq"), 1, 8, 4);
    assert.equal(p[0]! >>> 0, 0x77777777);
  });
});

describe("GPTQ checkpoints of the oracle", () => {
  for (const c of CASES) {
    test(`${c.dir}: config, packed tensors reproduced from the codes, dequantization`, () => {
      const ckpt = Checkpoint.open(join(fixtures, c.dir));
      const q = ckpt.config.quantization!;
      assert.equal(q.bits, c.bits);
      assert.equal(q.groupSize, c.groupSize);
      assert.equal(q.checkpointFormat, "gptq");
      const modules = [...ckpt.tensors.keys()]
        .filter((n) => n.endsWith(".qweight"))
        .map((n) => n.slice(0, -8));
      assert.equal(modules.length, 14);
      for (const m of modules) {
        const lin = ckpt.gptqLinear(m);
        const stored = (name: string) => {
          const b = ckpt.readBytes(name);
          return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
        };
        const K = lin.inFeatures;
        const N = lin.outFeatures;
        assert.deepEqual(packAlongRows(lin.codes, K, N, c.bits), stored(`${m}.qweight`), m);
        const z = packAlongCols(zerosToStored(lin.zeros, c.bits, "gptq"), lin.groups, N, c.bits);
        assert.deepEqual(z, stored(`${m}.qzeros`), m);
        // sym: every zero is 2^(bits−1)
        assert.ok(
          lin.zeros.every((x) => x === 1 << (c.bits - 1)),
          m,
        );
        assert.deepEqual(ckpt.shapeOf(`${m}.weight`), [N, K]);
      }
    });
  }

  for (const dir of ["g32-act", "b3-row"]) {
    test(`${dir}: readFloat32 of a quantized weight equals the oracle's dequant bit for bit`, () => {
      const ckpt = Checkpoint.open(join(fixtures, dir));
      const ref = Checkpoint.open(join(fixtures, `${dir}-dequant`));
      for (const name of ref.tensors.keys())
        assert.deepEqual(ckpt.readFloat32(name), ref.readFloat32(name), name);
    });
  }

  test("parameters count each GPTQ linear as its float weight; stored bytes count the packed tensors", () => {
    const float = Checkpoint.open(`${fixtures}float`);
    for (const c of CASES) {
      const q = Checkpoint.open(`${fixtures}${c.dir}`);
      assert.equal(q.parameterCount(), float.parameterCount(), c.dir);
      let packed = 0;
      for (const t of q.tensors.values()) packed += t.shape.reduce((a, b) => a * b, 1);
      assert.notEqual(packed, float.parameterCount(), `${c.dir}: the packed elements differ`);
      const bytes = [...q.tensors.values()].reduce((a, t) => a + t.byteLength, 0);
      assert.equal(
        q.storedBytes(),
        bytes -
          (q.config.tieWordEmbeddings && q.has("lm_head.weight") ? q.entry("lm_head.weight").byteLength : 0),
      );
      assert.ok(q.storedBytes() < float.storedBytes(), c.dir);
    }
  });

  test("pruning a GPTQ checkpoint keeps its quantized tensors byte for byte and its quantization_config", async () => {
    for (const c of CASES) {
      const src = Checkpoint.open(`${fixtures}${c.dir}`);
      const out = join(work, `pruned-${c.dir}`);
      const r = await pruneCheckpoint({ model: src.dir, remove: [0], out });
      assert.deepEqual(r.kept, [1]);
      const p = Checkpoint.open(out);
      assert.equal(p.config.numHiddenLayers, 1);
      assert.deepEqual(p.config.quantization, src.config.quantization);
      assert.deepEqual(
        JSON.parse(readFileSync(join(out, "quantize_config.json"), "utf8")),
        JSON.parse(readFileSync(join(src.dir, "quantize_config.json"), "utf8")),
      );
      let packed = 0;
      for (const t of p.tensors.values()) {
        const from = t.name.replace(/^model\.layers\.0\./, "model.layers.1.");
        assert.ok(p.readBytes(t.name).equals(src.readBytes(from)), `${t.name} = ${from}`);
        if (/\.(qweight|qzeros|scales|g_idx)$/.test(t.name)) packed++;
      }
      assert.equal(packed, 7 * 4, c.dir);
      // embedding, final norm and head, plus one block of the two
      assert.equal(p.tensors.size, 3 + (src.tensors.size - 3) / 2, c.dir);
    }
  });

  test("act-order g_idx is not monotonic and has group_size members per group", () => {
    const ckpt = Checkpoint.open(join(fixtures, "g32-act"));
    const g = ckpt.gptqLinear("model.layers.0.mlp.down_proj").gIdx;
    assert.ok(g.some((x, i) => i > 0 && x < g[i - 1]!));
    const counts = new Map<number, number>();
    for (const x of g) counts.set(x, (counts.get(x) ?? 0) + 1);
    assert.deepEqual([...counts.values()], [32, 32, 32, 32]);
  });
});

describe("bad GPTQ checkpoints are refused at open", () => {
  let n = 0;
  /** A copy of g32-act with config edits and tensors renamed / dropped / added. */
  function variant(
    edit: (cfg: Record<string, unknown>) => void,
    tensors?: (names: string[]) => { drop?: string[]; add?: { name: string; shape: number[] }[] },
  ): string {
    const dir = join(work, `v${n++}`);
    cpSync(join(fixtures, "g32-act"), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    edit(cfg);
    writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
    if (tensors) {
      const src = Checkpoint.open(join(fixtures, "g32-act"));
      const header = readSafetensorsHeader(join(fixtures, "g32-act", "model.safetensors"));
      const change = tensors(header.tensors.map((t) => t.name));
      const kept = header.tensors
        .filter((t) => !change.drop?.includes(t.name))
        .map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: src.readBytes(t.name) }));
      for (const a of change.add ?? [])
        kept.push({
          name: a.name,
          dtype: "F32",
          shape: a.shape,
          data: Buffer.alloc(a.shape[0]! * a.shape[1]! * 4),
        });
      writeSafetensors(join(dir, "model.safetensors"), kept);
    }
    return dir;
  }
  const refused = (dir: string, re: RegExp) =>
    assert.throws(
      () => Checkpoint.open(dir),
      (e: unknown) => isUserError(e) && re.test((e as Error).message),
    );
  const qc = (cfg: Record<string, unknown>) => cfg["quantization_config"] as Record<string, unknown>;

  test("bits other than 2, 3, 4, 8", () =>
    refused(
      variant((c) => (qc(c)["bits"] = 5)),
      /"bits" must be 2, 3, 4 or 8/,
    ));
  test("a group size that does not divide the inputs", () =>
    refused(
      variant((c) => (qc(c)["group_size"] = 48)),
      /group size 48 does not divide the 64 input features/,
    ));
  test("another quantization method", () =>
    refused(
      variant((c) => (qc(c)["quant_method"] = "awq")),
      /quantization method "awq" is not supported/,
    ));
  test("an unknown checkpoint format", () =>
    refused(
      variant((c) => (qc(c)["checkpoint_format"] = "marlin")),
      /checkpoint_format "marlin"/,
    ));
  test("shapes that disagree with the bits (config says 8, tensors are 4-bit)", () =>
    refused(
      variant((c) => (qc(c)["bits"] = 8)),
      /q_proj.qweight has shape \[8, 64\], but config.json implies \[16, 64\]/,
    ));
  test("GPTQ tensors without quantization_config", () =>
    refused(
      variant((c) => delete c["quantization_config"]),
      /is missing|GPTQ tensor/,
    ));
  test("a missing qzeros", () =>
    refused(
      variant(
        () => {},
        () => ({ drop: ["model.layers.1.mlp.up_proj.qzeros"] }),
      ),
      /model.layers.1.mlp.up_proj.qzeros is missing/,
    ));
  test("a float weight beside the packed tensors", () =>
    refused(
      variant(
        () => {},
        () => ({ add: [{ name: "model.layers.0.mlp.up_proj.weight", shape: [128, 64] }] }),
      ),
      /stored beside its GPTQ tensors/,
    ));
  test("a missing g_idx means sequential groups", () => {
    const dir = variant(
      () => {},
      () => ({ drop: ["model.layers.0.self_attn.q_proj.g_idx"] }),
    );
    const g = Checkpoint.open(dir).gptqLinear("model.layers.0.self_attn.q_proj").gIdx;
    assert.deepEqual([...g.slice(30, 34)], [0, 0, 1, 1]);
  });
});
