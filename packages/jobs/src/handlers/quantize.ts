// quantize: GPTQ (or RTN) post-training quantization of the job's input version into a GPTQ checkpoint (classic
// layout), published as a "quantized" version whose parent is the input, with a report: per-layer GPTQ loss,
// damping and retries, time, bytes before and after. Everything is checked before any compute (an already
// quantized model, linears the bits and group size cannot tile, calibration shorter than asked); a failure
// leaves nothing registered (the output only becomes a version when the handler returns).
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { quantizeCalibration, UserError } from "@shortened/contracts";
import { checkQuantizable, loadCalibration, openCheckpoint, quantizeModel } from "@shortened/engine";
import { readConfig } from "@shortened/hf";
import { calibrationOptions, calibrationSource } from "./calibration.js";
import type { Handler } from "./types.js";

/** Bytes of a folder's safetensors files. */
function weightBytes(dir: string): number {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".safetensors"))
    .reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}

export const quantize: Handler<"quantize"> = async (spec, ports) => {
  const dir = await ports.checkpoints.materialize(ports.context.input, ports.signal);
  const ckpt = openCheckpoint(dir);
  checkQuantizable(ckpt, spec);
  if (!spec.sym && spec.checkpointFormat === "gptq")
    ports.progress.log(
      "quantize: sym false in the v1 format cannot store a zero point of 0 (stored as −1, read back as 2^bits); use checkpointFormat gptq_v2",
    );
  const calibration = quantizeCalibration(spec.calibration);
  const calib = loadCalibration(await calibrationOptions(calibration, ports), ckpt);
  if (calib.rows < calibration.n)
    throw new UserError(
      "invalid_data",
      `calibration ${calibrationSource(calibration)} has ${calib.rows} rows, fewer than calibration.n ${calibration.n}`,
    );
  const rows: number[][] = [];
  for (let r = 0; r < calib.rows; r++) rows.push(calib.flat.slice(r * calib.seqLen, (r + 1) * calib.seqLen));
  ports.progress.log(
    `quantize: ${spec.method} ${spec.bits}-bit, group ${spec.groupSize}${spec.actOrder ? ", act-order" : ""}${spec.staticGroups ? ", static groups" : ""}, damp ${spec.damp}; calibration ${calib.protocol.source} ${calib.rows} × ${calib.seqLen}`,
  );
  const out = join(ports.context.workDir, "quantized");
  mkdirSync(out);
  const blocks = ckpt.config.numHiddenLayers;
  const r = await quantizeModel({
    model: ckpt,
    out,
    rows,
    settings: {
      method: spec.method,
      bits: spec.bits,
      groupSize: spec.groupSize,
      actOrder: spec.actOrder,
      staticGroups: spec.staticGroups,
      sym: spec.sym,
      damp: spec.damp,
      blockSize: 128,
      fp16Scales: false,
      dampRetries: spec.dampRetries,
      dampStep: 0.0015,
      trueSequential: spec.trueSequential,
      checkpointFormat: spec.checkpointFormat,
    },
    batchSize: spec.batchSize,
    memoryBudget: spec.memoryBudget,
    onPlan: (plan) => ports.progress.log(`plan: ${plan.summary}`),
    device: ports.context.device,
    threads: spec.threads,
    signal: ports.signal,
    onProgress: (p) => {
      if (p.layer)
        ports.progress.log(
          `quantize: ${p.layer.name} loss ${p.layer.loss.toPrecision(5)}${p.layer.dampRetries ? ` (${p.layer.dampRetries} damping retries)` : ""}`,
        );
      ports.progress.progress(p.block / blocks, "quantize", { step: p.block, totalSteps: blocks });
    },
  });
  const bytesBefore = weightBytes(dir);
  const bytesAfter = weightBytes(out);
  const report = {
    method: spec.method,
    quantizationConfig: r.quantizationConfig,
    calibration: calib.protocol,
    layers: r.layers,
    totalLoss: r.totalLoss,
    dampRetries: r.dampRetries,
    seconds: r.seconds,
    bytesBefore,
    bytesAfter,
    plan: {
      summary: r.plan.summary,
      batch: r.plan.batch,
      estimate: r.plan.estimate,
      budget: r.plan.budget.bytes,
    },
  };
  const file = join(ports.context.workDir, "quantize-report.json");
  await writeFile(file, JSON.stringify(report, null, 2));
  const summary = {
    method: spec.method,
    bits: spec.bits,
    groupSize: spec.groupSize,
    actOrder: spec.actOrder,
    layers: r.layers.length,
    totalLoss: r.totalLoss,
    dampRetries: r.dampRetries,
    seconds: r.seconds,
    bytesBefore,
    bytesAfter,
    plan: r.plan.summary,
  };
  ports.progress.log(
    `quantize: ${r.layers.length} linears in ${r.seconds.toFixed(1)} s, weights ${bytesBefore} → ${bytesAfter} bytes`,
  );
  const recipe = {
    step: "quantize",
    ...summary,
    quantizationConfig: r.quantizationConfig,
    calibration: calib.protocol,
  };
  return {
    artifacts: [{ name: "quantize-report.json", path: file, contentType: "application/json" }],
    metrics: [],
    version: {
      dir: out,
      kind: "quantized",
      parentId: ports.context.input.id,
      recipe,
      config: readConfig(out).raw,
    },
    summary,
  };
};
