// pipeline: its steps (importance -> prune -> retrain -> evaluate) run as their own jobs, each after the
// one before; this handler runs last and gathers what they made into one summary.
import { UserError } from "@shortened/contracts";
import { reportSections, writeReport } from "../report.js";
import type { Handler } from "./types.js";

export const pipeline: Handler<"pipeline"> = async (_spec, ports) => {
  const steps = await ports.registry.pipelineSteps(ports.context.teamId, ports.context.jobId);
  const unfinished = steps.filter((s) => s.state !== "succeeded");
  if (unfinished.length)
    throw new UserError(
      "conflict",
      `pipeline steps did not all succeed: ${unfinished.map((s) => `${s.kind} ${s.state}${s.reason ? ` (${s.reason})` : ""}`).join("; ")}`,
    );
  const finalVersionId = steps.reduce<string | null>((v, s) => s.outputVersionId ?? v, null);
  // One evaluation report over every evaluate step (all of them measure the final model).
  const sections = reportSections(steps.filter((s) => s.kind === "evaluate").map((s) => s.result));
  const artifacts = sections.length
    ? await writeReport({ model: sections[sections.length - 1]!.model, sections }, ports.context.workDir)
    : [];
  return {
    artifacts,
    metrics: [],
    summary: {
      finalVersionId,
      steps: steps.map((s) => ({
        id: s.id,
        kind: s.kind,
        outputVersionId: s.outputVersionId,
        result: s.result,
      })),
    },
  };
};
