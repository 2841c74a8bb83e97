// export: the job's input version as an ONNX decoder for ONNX Runtime (the engine's forward graph with its KV
// cache; ../../engine/src/export/onnx-decoder.ts): model.onnx, model.onnx.data and README.md as artifacts.
import { join } from "node:path";
import { exportOnnxDecoder } from "@shortened/engine";
import type { Handler } from "./types.js";

export const exportModel: Handler<"export"> = async (spec, ports) => {
  const { input, workDir } = ports.context;
  const model = await ports.checkpoints.materialize(input, ports.signal);
  ports.signal.throwIfAborted();
  ports.progress.progress(0.1, "export");
  const out = join(workDir, "onnx");
  const r = await exportOnnxDecoder(model, out, {
    dtype: spec.dtype,
    source: `${input.modelName} v${input.number} (${input.id})`,
  });
  const q = r.quantization;
  ports.progress.log(
    `export: ONNX decoder, ${r.numLayers} blocks, ${q ? `GPTQ ${q.bits}-bit (${q.nbits} MatMulNBits linears)` : r.dtype}, ${r.bytes} bytes`,
  );
  const types: Record<string, string> = {
    "model.onnx": "application/octet-stream",
    "model.onnx.data": "application/octet-stream",
    "README.md": "text/markdown",
  };
  return {
    artifacts: r.files.map((name) => ({ name, path: join(out, name), contentType: types[name] })),
    metrics: [],
    summary: {
      format: "onnx",
      dtype: r.dtype,
      ...(q ? { quantization: q } : {}),
      bytes: r.bytes,
      files: r.files,
      inputs: r.inputs.map((v) => v.name).filter((n) => !n.startsWith("past_key_values.")),
      outputs: ["logits"],
      kvCache: {
        layers: r.numLayers,
        past: "past_key_values.<i>.key|value",
        present: "present.<i>.key|value",
      },
    },
  };
};
