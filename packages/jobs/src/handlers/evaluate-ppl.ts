// evaluate task "ppl": perplexity with the paper's windowing on a shipped text (WikiText-2, PTB, TinyStories),
// a text or token ids of the spec, or a file of the team; the metric carries its protocol.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { type EvaluatePplSpec, type Ports, UserError } from "@shortened/contracts";
import { type AccuracyLevel, perplexity } from "@shortened/engine";
import { loadEvalText, loadTokenizer } from "@shortened/hf";
import type { PplSection } from "../report.js";
import type { TaskOutcome } from "./evaluate-outcome.js";
import { teamFileToLocal } from "./team-file.js";
import { progressTo } from "./types.js";

/** {"ids": [..]} as the oracle's TOKENS files. */
export function readIdsStream(path: string, what = path): number[] {
  let d: unknown;
  try {
    d = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError("invalid_data", `${what} is not valid JSON: ${(e as Error).message}`);
  }
  const ids = (d as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== "number"))
    throw new UserError("invalid_data", `${what}: expected {"ids": [token ids...]}`);
  return ids as number[];
}

/** What the windows are cut from: a shipped dataset, a text file, or ids; `label` names the metric. */
interface PplSource {
  label: string;
  source: string;
  dataset?: string;
  textFile?: string;
  ids?: number[];
}

async function pplSource(spec: EvaluatePplSpec, ports: Ports): Promise<PplSource> {
  const given = [spec.dataset, spec.text, spec.ids, spec.artifact].filter((x) => x !== undefined);
  if (given.length > 1)
    throw new UserError("bad_request", "ppl: give at most one of dataset, text, ids or artifact");
  if (spec.format !== undefined && spec.artifact === undefined)
    throw new UserError("bad_request", "ppl: format applies to an artifact");
  if (spec.ids) return { label: "ids", source: "spec:ids", ids: spec.ids };
  if (spec.text !== undefined) {
    const textFile = join(ports.context.workDir, "ppl-text.txt");
    await writeFile(textFile, spec.text);
    return { label: "text", source: "spec:text", textFile };
  }
  if (spec.artifact !== undefined) {
    const key = spec.artifact;
    const format = spec.format ?? (extname(key).toLowerCase() === ".json" ? "ids" : "text");
    const path = await teamFileToLocal(key, ports, "ppl", "ppl-input");
    const source = `artifact:${key}`;
    return format === "ids"
      ? { label: "ids", source, ids: readIdsStream(path, key) }
      : { label: "text", source, textFile: path };
  }
  const dataset = spec.dataset ?? "wikitext2";
  return { label: dataset, source: dataset, dataset };
}

export async function evaluatePpl(
  spec: EvaluatePplSpec,
  ports: Ports,
  dir: string,
): Promise<TaskOutcome<PplSection>> {
  const src = await pplSource(spec, ports);
  const common = {
    model: dir,
    seqLen: spec.seqLen,
    bos: spec.bos,
    bosId: spec.bosId,
    skip: spec.skip,
    batchSize: spec.batchSize,
    device: ports.context.device,
    dtype: spec.dtype,
    threads: spec.threads,
    memoryBudget: spec.memoryBudget,
    accuracyLevel: spec.accuracyLevel as AccuracyLevel | undefined,
    onPlan: (plan: { summary: string }) => ports.progress.log(`plan: ${plan.summary}`),
    signal: ports.signal,
    onProgress: progressTo(ports, 0, 1, `ppl ${src.label}`),
  };
  let r: Awaited<ReturnType<typeof perplexity>>;
  if (spec.maxTokens === undefined || src.ids) {
    r = await perplexity({
      ...common,
      dataset: src.dataset,
      textFile: src.textFile,
      ids: src.ids?.slice(0, spec.maxTokens),
    });
  } else {
    // A quick check on the first maxTokens tokens; the protocol says so, so it is never compared with a full run.
    const text = src.dataset ? loadEvalText(src.dataset) : null;
    const raw = text?.text ?? readFileSync(src.textFile!, "utf8");
    const tok = loadTokenizer(dir);
    const ids = tok.encode(raw, { addSpecialTokens: false }).slice(0, spec.maxTokens);
    const partial = await perplexity({ ...common, ids });
    r = {
      ...partial,
      protocol: {
        ...partial.protocol,
        dataset: text?.dataset ?? "text",
        split: text?.split ?? null,
        source: text?.source ?? src.source,
        tokenizerHash: tok.hash,
        textSha256: createHash("sha256").update(raw).digest("hex"),
      },
    };
  }
  const protocol = {
    ...r.protocol,
    ...(src.dataset ? {} : { source: src.source }),
    maxTokens: spec.maxTokens ?? null,
    ...(spec.skip?.length ? { skip: spec.skip } : {}),
    task: "ppl",
  };
  ports.progress.log(`ppl ${src.label} seqLen ${spec.seqLen}: ${r.ppl.toFixed(3)} over ${r.tokens} tokens`);
  return {
    artifacts: [],
    metrics: [{ name: `ppl_${src.label}`, value: r.ppl, protocol }],
    summary: {
      ppl: r.ppl,
      dataset: src.label,
      tokens: r.tokens,
      windows: r.nsamples,
      meanNll: r.meanNll,
      segmentMeanNll: r.segmentMeanNll,
      protocol,
      plan: r.plan,
    },
    section: {
      kind: "ppl",
      dataset: src.label,
      seqLen: spec.seqLen,
      ppl: r.ppl,
      tokens: r.tokens,
      protocol,
    },
  };
}
