// study: the paper's experiment as one job. Each run plans from what its children made so far
// (study-plan.ts): while children are missing it starts them and waits (they run in parallel across
// workers, or one after another in embedded mode, through the same runner), and once every child succeeded
// it gathers the cells, the dense baseline and the report.
import type { StepInfo } from "@shortened/contracts";
import type { ReportSection } from "../report.js";
import { planStudy, studyCounts } from "../study-plan.js";
import { type StudyResult, type StudyRow, sectionMetrics, writeStudyReport } from "../study-report.js";
import type { Handler } from "./types.js";

function row(versionId: string, evals: (StepInfo | undefined)[]): StudyRow {
  const sections = evals.map((e) => e?.result?.report as ReportSection | undefined);
  return {
    versionId,
    parameters: sections.find((s) => s?.model)?.model.parameters ?? null,
    metrics: Object.assign({}, ...sections.map(sectionMetrics)),
  };
}

export const study: Handler<"study"> = async (spec, ports) => {
  const { teamId, jobId, input, workDir } = ports.context;
  const children = await ports.registry.pipelineSteps(teamId, jobId);
  const plan = planStudy(spec, input.id, children);
  if (plan.spawn.length) {
    ports.progress.log(
      `study: starting ${plan.spawn.length} job(s): ${[...new Set(plan.spawn.map((s) => s.kind))].join(", ")}`,
    );
    return { artifacts: [], metrics: [], summary: {}, spawn: plan.spawn };
  }
  if (plan.pending)
    // Runs only after every child ended; a child still open means the queue ran this early: try again.
    throw new Error(`study: ${plan.pending} child job(s) have not finished yet`);

  const importance: StudyResult["importance"] = {};
  let blocks = 0;
  for (const [criterion, imp] of Object.entries(plan.importance)) {
    const scores = imp!.result!.scores as number[];
    // angular-band: scores per band start, bands of `group` blocks (the smallest count's job)
    const group = (imp!.result!.group as number | undefined) ?? 1;
    blocks = Math.max(blocks, scores.length + group - 1);
    importance[criterion] = {
      jobId: imp!.id,
      scores,
      orderPlus: imp!.result!.orderPlus as number[],
      ...(group > 1 ? { group } : {}),
    };
  }
  const result: StudyResult = {
    model: { name: input.modelName, versionId: input.id, blocks },
    dense: row(input.id, plan.dense.evaluateJobs),
    cells: plan.cells.map((c) => ({
      criterion: c.criterion,
      count: c.count,
      ratio: c.count / blocks,
      removed: c.removed,
      method: c.method,
      ...row(c.versionId!, c.evaluateJobs),
    })),
    importance,
    missingTasks: [
      ...new Set(
        children.flatMap((c) =>
          Array.isArray(c.result?.missingTasks) ? (c.result.missingTasks as string[]) : [],
        ),
      ),
    ],
  };
  const artifacts = await writeStudyReport(result, workDir);
  ports.progress.log(
    `study: ${result.cells.length} cells (${spec.criteria.length} criteria x ${studyCounts(spec, blocks).length} counts x ${spec.retrain.length} methods), ${children.length} child jobs`,
  );
  return {
    artifacts,
    metrics: [],
    summary: {
      model: result.model,
      dense: result.dense,
      cells: result.cells,
      importance: result.importance,
      missingTasks: result.missingTasks,
      children: children.length,
    },
  };
};
