// importance: one score per block under a criterion, the removal order and the "+" order.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ImportanceSpec, Ports } from "@shortened/contracts";
import { blockImportance } from "@shortened/engine";
import { importancePlotSvg } from "../importance-plot.js";
import { reuseOrCompute } from "../importance-reuse.js";
import { calibrationOptions, calibrationSource } from "./calibration.js";
import { type Handler, progressTo } from "./types.js";

/** The fields of a spec that decide the scores (importance and prune specs have them all). */
export type ImportanceInputs = Pick<
  ImportanceSpec,
  | "criterion"
  | "calibration"
  | "keepFirst"
  | "keepLast"
  | "group"
  | "token"
  | "batchSize"
  | "device"
  | "dtype"
  | "threads"
  | "memoryBudget"
>;

/** Block importance of the job's model under any criterion of the contracts (Taylor+ included). */
export async function computeImportance(
  spec: ImportanceInputs,
  modelDir: string,
  ports: Ports,
  progress = { from: 0, to: 1 },
) {
  const calib = await calibrationOptions(spec.calibration, ports);
  const source = calibrationSource(spec.calibration);
  ports.progress.log(
    `importance: criterion ${spec.criterion}, calibration ${source}${calib.calibIds ? ` ${calib.calibIds.length} rows` : ` n=${calib.n}`} seqLen=${calib.seqLen}`,
  );
  return reuseOrCompute(spec, ports, () =>
    blockImportance({
      model: modelDir,
      criterion: spec.criterion,
      ...calib,
      group: spec.group,
      token: spec.token,
      batchSize: spec.batchSize,
      keepFirst: spec.keepFirst,
      keepLast: spec.keepLast,
      device: ports.context.device,
      dtype: spec.dtype,
      threads: spec.threads,
      memoryBudget: spec.memoryBudget,
      onPlan: (plan) => ports.progress.log(`plan: ${plan.summary}`),
      signal: ports.signal,
      onProgress: progressTo(ports, progress.from, progress.to, "importance"),
    }),
  );
}

export const importance: Handler<"importance"> = async (spec, ports) => {
  const dir = await ports.checkpoints.materialize(ports.context.input, ports.signal);
  const r = await computeImportance(spec, dir, ports);
  const file = join(ports.context.workDir, "importance.json");
  const { model: _localFolder, ...scores } = r;
  const record = { ...scores, calibrationSource: calibrationSource(spec.calibration) };
  await writeFile(file, JSON.stringify(record, null, 2));
  const plot = join(ports.context.workDir, "importance.svg");
  await writeFile(plot, await importancePlotSvg({ scores: r.scores, criterion: r.criterion }));
  ports.progress.log(`importance: order ${r.order.join(",")}; + order ${r.orderPlus.join(",")}`);
  const metrics =
    r.basePpl !== undefined && r.calibration
      ? [{ name: "calibration_ppl", value: r.basePpl, protocol: { ...r.calibration, ...r.protocol } }]
      : [];
  return {
    artifacts: [
      { name: "importance.json", path: file, contentType: "application/json" },
      { name: "importance.svg", path: plot, contentType: "image/svg+xml" },
    ],
    metrics,
    summary: {
      criterion: r.criterion,
      scores: r.scores,
      order: r.order,
      orderPlus: r.orderPlus,
      keepFirst: r.keepFirst,
      keepLast: r.keepLast,
      ...(r.removeBest ? { group: r.group, removeBest: r.removeBest } : {}),
      basePpl: r.basePpl ?? null,
    },
  };
};
