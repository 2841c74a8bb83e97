// bench/big-tensor: one float32 tensor over 2 GiB (Qwen2.5-7B's embedding, 152064 × 3584 = 2.18 GB) through every
// writer and reader at real size: the tensor-file writer and reader (adapters, training state), the streaming
// safetensors writer (checkpoints) with Checkpoint.readBytes, and graph external data loaded by ONNX Runtime
// (a Gather of three rows). The unit tests run the same code with tiny pieces.
//
//   flock /work/team/heavy.lock node --conditions=development --import tsx bench/big-tensor.ts [--dir /tmp]
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GraphBuilder, ort } from "@shortened/engine";
import {
  readSafetensorsHeader,
  readTensorFile,
  SafetensorsStreamWriter,
  writeTensorFile,
} from "@shortened/hf";

const { values: args } = parseArgs({ options: { dir: { type: "string", default: os.tmpdir() } } });
const ROWS = 152064;
const COLS = 3584;
const dir = mkdtempSync(join(args.dir!, "big-tensor-"));
const peakMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const row = (i: number) => Float32Array.from({ length: COLS }, (_, j) => Math.sin(i * 0.37 + j * 0.011));
const timed = async <T>(what: string, fn: () => T | Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const r = await fn();
  console.log(
    `${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s (peak RSS so far ${peakMb().toFixed(0)} MB)`,
  );
  return r;
};
const probe = [0, 77777, ROWS - 1];
const matches = (data: Float32Array, what: string) => {
  for (const i of probe) {
    const want = row(i);
    const got = data.subarray(i * COLS, (i + 1) * COLS);
    if (!got.every((v, j) => v === want[j])) throw new Error(`${what}: row ${i} differs`);
  }
};

try {
  const data = new Float32Array(ROWS * COLS);
  for (const i of probe) data.set(row(i), i * COLS);
  console.log(`tensor ${ROWS} x ${COLS} float32 = ${(data.byteLength / 2 ** 30).toFixed(2)} GiB`);

  const file = join(dir, "state.safetensors");
  await timed("writeTensorFile", () =>
    writeTensorFile(file, new Map([["embed", { dims: [ROWS, COLS], data }]])),
  );
  const back = await timed("readTensorFile", () => readTensorFile(file).get("embed")!.data);
  matches(back, "readTensorFile");
  rmSync(file);

  const ckpt = join(dir, "model.safetensors");
  await timed("SafetensorsStreamWriter (one 2.18 GB append)", async () => {
    const w = await SafetensorsStreamWriter.create(ckpt, [
      { name: "embed", dtype: "F32", shape: [ROWS, COLS] },
    ]);
    await w.append(new Uint8Array(data.buffer));
    await w.close();
  });
  const h = readSafetensorsHeader(ckpt);
  if (h.fileSize !== h.dataStart + data.byteLength) throw new Error("checkpoint size");
  rmSync(ckpt);

  const g = new GraphBuilder();
  const ids = g.input("ids", "int64", [probe.length]);
  g.initializer("embed", { type: "float32", dims: [ROWS, COLS], data: back });
  g.output(g.rename(g.node("Gather", ["embed", ids]), "rows"), "float32", [probe.length, COLS]);
  const modelPath = join(dir, "model.onnx");
  await timed("GraphBuilder.toBytes with external data", () =>
    writeFileSync(modelPath, g.toBytes(join(dir, "model.onnx.data"))),
  );
  console.log(`external data ${(statSync(join(dir, "model.onnx.data")).size / 2 ** 30).toFixed(2)} GiB`);
  const session = await timed("ONNX Runtime session", () => ort.InferenceSession.create(modelPath));
  const out = await session.run({ ids: new ort.Tensor("int64", BigInt64Array.from(probe.map(BigInt)), [3]) });
  const rows = out.rows!.data as Float32Array;
  probe.forEach((i, k) => {
    const want = row(i);
    if (!rows.subarray(k * COLS, (k + 1) * COLS).every((v, j) => v === want[j]))
      throw new Error(`ORT row ${i}`);
  });
  await session.release();
  console.log(
    `all equal; peak RSS ${peakMb().toFixed(0)} MB, ${new Date().toISOString()}, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
