// Greedy generation through an exported ONNX decoder (./onnx-decoder.ts) in a fresh ONNX Runtime session,
// driven only through its documented inputs and outputs: the check that the export is what the engine runs
// (onnx-decoder.test.ts on fixtures, bench/export-check.ts on large checkpoints).
import { join } from "node:path";
import { ort } from "../graph/session.js";
import { EXPORT_FILES } from "./onnx-decoder.js";

/** Greedy generation through the exported decoder: rows left-padded to one length. */
export async function greedyOnnx(
  dir: string,
  prompts: number[][],
  steps: number,
  o: { threads?: number } = {},
): Promise<number[][]> {
  const s = await ort.InferenceSession.create(join(dir, EXPORT_FILES.model), {
    intraOpNumThreads: o.threads ?? 1,
  });
  try {
    const B = prompts.length;
    const T = Math.max(...prompts.map((p) => p.length));
    const pastNames = s.inputNames.filter((n) => n.startsWith("past_key_values."));
    const meta = s.inputMetadata.find((m) => m.name === pastNames[0]) as unknown as {
      shape: (number | string)[];
    };
    const [kvh, hd] = [Number(meta.shape[1]), Number(meta.shape[3])];
    const mask: number[][] = prompts.map((p) => [...Array(T - p.length).fill(0), ...p.map(() => 1)]);
    let ids = prompts.map((p) => [...Array(T - p.length).fill(0), ...p]);
    let pos = prompts.map((p) => [...Array(T - p.length).fill(0), ...p.map((_, i) => i)]);
    let past: Record<string, ort.Tensor> = Object.fromEntries(
      pastNames.map((n) => [n, new ort.Tensor("float32", new Float32Array(0), [B, kvh, 0, hd])]),
    );
    const out: number[][] = prompts.map(() => []);
    for (let step = 0; step < steps; step++) {
      const t = ids[0]!.length;
      const i64 = (rows: number[][]) =>
        new ort.Tensor("int64", BigInt64Array.from(rows.flat().map(BigInt)), [B, rows[0]!.length]);
      const r = await s.run({
        input_ids: i64(ids),
        attention_mask: i64(mask),
        position_ids: i64(pos),
        ...past,
      });
      const logits = r.logits!;
      const V = Number(logits.dims[2]);
      const data = logits.data as Float32Array;
      const next = prompts.map((_, b) => {
        const base = (b * t + t - 1) * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (data[base + v]! > data[base + best]!) best = v;
        return best;
      });
      for (const [b, id] of next.entries()) out[b]!.push(id);
      past = Object.fromEntries(pastNames.map((n) => [n, r[n.replace("past_key_values.", "present.")]!]));
      for (const m of mask) m.push(1);
      pos = prompts.map((p) => [p.length + step]);
      ids = next.map((id) => [id]);
    }
    return out;
  } finally {
    await s.release();
  }
}
