// The exported ONNX decoder in a fresh ONNX Runtime session, driven only through its documented inputs and
// outputs, generates greedily the same tokens as the engine's generator: several architectures, float32 and
// float16, and a left-padded row of a batch the same as that row alone.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import onnxProto from "onnx-proto";
import { KvGenerator } from "../generate/generator.js";
import { EXPORT_FILES, type ExportDtype, exportOnnxDecoder } from "./onnx-decoder.js";
import { greedyOnnx } from "./onnx-greedy.js";

const arch = fileURLToPath(new URL("../fixtures/arch/models/", import.meta.url));
const demo = fileURLToPath(new URL("../../../../models/tinystories-llama-8L", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "onnx-export-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function greedyEngine(
  model: string,
  prompt: number[],
  steps: number,
  dtype: ExportDtype,
): Promise<number[]> {
  const gen = await KvGenerator.open(model, { threads: 1, dtype });
  try {
    return (await gen.generate([prompt], { doSample: false, maxNewTokens: steps, ignoreEos: true }))
      .tokens[0]!;
  } finally {
    await gen.release();
  }
}

const prompt = [3, 1, 4, 1, 5, 9];
const cases: [string, string, ExportDtype][] = [
  ["llama (demo)", demo, "float32"],
  ["qwen2 (sliding window)", `${arch}qwen2-window`, "float32"],
  ["qwen3", `${arch}qwen3`, "float32"],
  ["gemma2 (soft-capping)", `${arch}gemma2`, "float32"],
  ["phi3 (fused projections)", `${arch}phi3`, "float32"],
  ["llama (demo), float16", demo, "float16"],
];

for (const [name, model, dtype] of cases) {
  test(`${name}: the exported decoder in a fresh session generates the engine's greedy tokens`, async () => {
    const out = join(work, `${name.replace(/\W+/g, "-")}`);
    const r = await exportOnnxDecoder(model, out, { dtype, source: name });
    assert.deepEqual(r.files, ["model.onnx", "model.onnx.data", "README.md"]);
    assert.ok(existsSync(join(out, "model.onnx.data")));
    const readme = readFileSync(join(out, "README.md"), "utf8");
    for (const n of [
      "input_ids",
      "attention_mask",
      "position_ids",
      "past_key_values.0.key",
      "present.0.value",
      "logits",
    ])
      assert.ok(readme.includes(`\`${n}\``), `README names ${n}`);
    const steps = 10;
    const expected = await greedyEngine(model, prompt, steps, dtype);
    assert.deepEqual((await greedyOnnx(out, [prompt], steps))[0], expected);
  });
}

const gptq = fileURLToPath(new URL("../../../hf/src/fixtures/gptq/", import.meta.url));

/** The ops of an exported model.onnx, with their domains. */
function opsOf(dir: string): Set<string> {
  const m = onnxProto.onnx.ModelProto.decode(readFileSync(join(dir, EXPORT_FILES.model)));
  return new Set((m.graph?.node ?? []).map((n) => `${n.domain ? `${n.domain}::` : ""}${n.opType}`));
}

for (const [name, fixture, bits, nbits] of [
  ["4-bit, groups of 32, act-order", "g32-act", 4, true],
  ["8-bit, groups of 64, act-order", "b8-g64-act", 8, true],
  ["3-bit per row (no MatMulNBits: dequantized)", "b3-row", 3, false],
] as const) {
  test(`GPTQ ${name}: exported with MatMulNBits, the engine's greedy tokens in a fresh session`, async () => {
    const out = join(work, `gptq-${fixture}`);
    const r = await exportOnnxDecoder(`${gptq}${fixture}`, out, { source: fixture });
    const ops = opsOf(out);
    assert.equal(ops.has("com.microsoft::MatMulNBits"), nbits, [...ops].join(", "));
    if (nbits) assert.ok(ops.has("Gather"), "act-order: the inputs reordered");
    // Every block linear (7 per block, 2 blocks) is MatMulNBits, or, at 3 bits, dequantized.
    assert.deepEqual(r.quantization, {
      method: "gptq",
      bits,
      groupSize: fixture === "b3-row" ? -1 : fixture === "g32-act" ? 32 : 64,
      nbits: nbits ? 14 : 0,
      dequantized: nbits ? 0 : 14,
    });
    const readme = readFileSync(join(out, "README.md"), "utf8");
    if (nbits) assert.match(readme, /MatMulNBits/);
    const expected = await greedyEngine(`${gptq}${fixture}`, prompt, 10, "float32");
    assert.deepEqual((await greedyOnnx(out, [prompt], 10))[0], expected);
    // and the model's own dequantized twin, run as float, gives the same tokens
    if (fixture === "g32-act")
      assert.deepEqual(await greedyEngine(`${gptq}g32-act-dequant`, prompt, 10, "float32"), expected);
  });
}

test("a GPTQ model exported in float16 is refused with the reason", async () => {
  await assert.rejects(
    exportOnnxDecoder(`${gptq}g32-act`, join(work, "gptq-f16"), { dtype: "float16" }),
    (e: Error & { code?: string }) => e.code === "bad_request" && /4-bit|quantized|GPTQ/.test(e.message),
  );
});

test("a left-padded row of a batch generates what it generates alone", async () => {
  const out = join(work, "padded");
  await exportOnnxDecoder(demo, out);
  const short = [7, 8, 9, 10];
  const [a, b] = await greedyOnnx(out, [prompt, short], 8);
  assert.deepEqual(a, await greedyEngine(demo, prompt, 8, "float32"));
  assert.deepEqual(b, await greedyEngine(demo, short, 8, "float32"));
});
