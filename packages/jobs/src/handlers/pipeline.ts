// pipeline: its steps (importance -> prune -> retrain -> evaluate) run as their own jobs, each after the
// one before; this handler runs last and gathers what they made into one summary.
import { UserError } from "@shortened/contracts";
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
  return {
    artifacts: [],
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
