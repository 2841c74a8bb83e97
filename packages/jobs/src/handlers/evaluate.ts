// evaluate: perplexity ("ppl"), zero-shot multiple choice ("zeroshot") or sample generations ("generate")
// of one model version. Every evaluate job also publishes its evaluation report (report.json, report.md),
// and keeps its part of the report in its result so a pipeline can gather all of its evaluations into one.
import { parameterCount } from "@shortened/engine";
import { readConfig } from "@shortened/hf";
import type { ReportModel, ReportSection } from "../report.js";
import { writeReport } from "../report.js";
import { evaluatePpl } from "./evaluate-ppl.js";
import { evaluateZeroShot } from "./evaluate-zeroshot.js";
import { generateSamples } from "./generate-samples.js";
import type { Handler } from "./types.js";

export const evaluate: Handler<"evaluate"> = async (spec, ports) => {
  const dir = await ports.checkpoints.materialize(ports.context.input, ports.signal);
  const out =
    spec.task === "zeroshot"
      ? await evaluateZeroShot(spec, ports, dir)
      : spec.task === "generate"
        ? await generateSamples(spec, ports, dir)
        : await evaluatePpl(spec, ports, dir);
  const { input, jobId, workDir } = ports.context;
  const config = readConfig(dir);
  const model: ReportModel = {
    versionId: input.id,
    name: input.modelName,
    number: input.number,
    kind: input.kind,
    blocks: config.numHiddenLayers,
    parameters: parameterCount(config),
    removedBlocks: Array.isArray(input.recipe.removed) ? (input.recipe.removed as number[]) : null,
  };
  const section = { ...out.section, jobId, model } as ReportSection;
  const report = await writeReport({ model, sections: [section] }, workDir);
  return {
    artifacts: [...out.artifacts, ...report],
    metrics: out.metrics,
    summary: { task: spec.task, ...out.summary, report: section },
  };
};
