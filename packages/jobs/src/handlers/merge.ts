// merge: folds a LoRA adapter (a retrained version holding adapter_config.json + adapter_model.safetensors)
// into the job's input version, its base, and publishes the merged checkpoint as a new version of the base.
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import { mergeLora } from "@shortened/engine";
import { readConfig } from "@shortened/hf";
import type { Handler } from "./types.js";

export const merge: Handler<"merge"> = async (spec, ports) => {
  const { input, teamId, workDir } = ports.context;
  const adapter = await ports.registry.resolveVersion(teamId, spec.adapter);
  if (adapter.kind !== "retrained")
    throw new UserError(
      "bad_request",
      `\`adapter\` ${spec.adapter} is a ${adapter.kind} version, not a retrained LoRA adapter`,
    );
  const base = await ports.checkpoints.materialize(input, ports.signal);
  const adapterPath = await ports.checkpoints.materialize(adapter, ports.signal);
  ports.signal.throwIfAborted();
  const out = join(workDir, "merged");
  const r = await mergeLora({ model: base, adapter: adapterPath, out, alpha: spec.alpha });
  ports.progress.log(`merge: ${r.modules} LoRA modules (r ${r.r}, alpha ${r.alpha}) into ${r.dtype} weights`);
  const recipe = {
    step: "merge",
    adapterVersionId: adapter.id,
    r: r.r,
    alpha: r.alpha,
    modules: r.modules,
    dtype: r.dtype,
  };
  return {
    artifacts: [],
    metrics: [],
    version: { dir: out, kind: "merged", parentId: input.id, recipe, config: readConfig(out).raw },
    summary: { r: r.r, alpha: r.alpha, modules: r.modules, dtype: r.dtype },
  };
};
