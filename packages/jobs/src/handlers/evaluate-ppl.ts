// evaluate task "ppl": perplexity on WikiText-2 / PTB with the paper's windowing; the metric carries its protocol.
import { createHash } from "node:crypto";
import type { EvaluatePplSpec, Ports } from "@shortened/contracts";
import { perplexity } from "@shortened/engine";
import { loadEvalText, loadTokenizer } from "@shortened/hf";
import type { PplSection } from "../report.js";
import type { TaskOutcome } from "./evaluate-outcome.js";
import { progressTo } from "./types.js";

export async function evaluatePpl(
  spec: EvaluatePplSpec,
  ports: Ports,
  dir: string,
): Promise<TaskOutcome<PplSection>> {
  const common = {
    model: dir,
    seqLen: spec.seqLen,
    bos: spec.bos,
    batchSize: spec.batchSize,
    device: spec.device,
    dtype: spec.dtype,
    threads: spec.threads,
    memoryBudget: spec.memoryBudget,
    onPlan: (plan: { summary: string }) => ports.progress.log(`plan: ${plan.summary}`),
    signal: ports.signal,
    onProgress: progressTo(ports, 0, 1, `ppl ${spec.dataset}`),
  };
  let r: Awaited<ReturnType<typeof perplexity>>;
  if (spec.maxTokens === undefined) {
    r = await perplexity({ ...common, dataset: spec.dataset });
  } else {
    // A quick check on the first maxTokens tokens; the protocol says so, so it is never compared with a full run.
    const text = loadEvalText(spec.dataset);
    const tok = loadTokenizer(dir);
    const ids = tok.encode(text.text, { addSpecialTokens: false }).slice(0, spec.maxTokens);
    const partial = await perplexity({ ...common, ids });
    r = {
      ...partial,
      protocol: {
        ...partial.protocol,
        dataset: text.dataset,
        split: text.split,
        source: text.source,
        tokenizerHash: tok.hash,
        textSha256: createHash("sha256").update(text.text).digest("hex"),
      },
    };
  }
  const protocol = { ...r.protocol, maxTokens: spec.maxTokens ?? null, task: "ppl" };
  ports.progress.log(
    `ppl ${spec.dataset} seqLen ${spec.seqLen}: ${r.ppl.toFixed(3)} over ${r.tokens} tokens`,
  );
  return {
    artifacts: [],
    metrics: [{ name: `ppl_${spec.dataset}`, value: r.ppl, protocol }],
    summary: {
      ppl: r.ppl,
      dataset: spec.dataset,
      tokens: r.tokens,
      windows: r.nsamples,
      protocol,
      plan: r.plan,
    },
    section: {
      kind: "ppl",
      dataset: spec.dataset,
      seqLen: spec.seqLen,
      ppl: r.ppl,
      tokens: r.tokens,
      protocol,
    },
  };
}
