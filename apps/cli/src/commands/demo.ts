// `shortened demo`: the README's one command. In embedded mode (PGlite + a local folder, the same job
// handlers as the service) it registers the shipped tiny LLaMA and tells the paper's story in the model's own
// domain (TinyStories): PPL-criterion block importance beside a second criterion's choice -> remove 2 blocks
// by the "+" order -> a short LoRA retraining on TinyStories text, merged; perplexity of base, pruned and
// retrained on held-out TinyStories text (in-domain), with WikiText-2 and PTB shown apart as out-of-domain,
// and a one-line reading of the result.
import { fileURLToPath } from "node:url";
import { listMetrics, pipelineSteps, resolveVersion } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import { defaultStateDir, localTeamId, openEmbedded, registerFromFolder, submitJob } from "@shortened/jobs";
import type { Command } from "commander";
import { runCommand } from "../output.js";
import { interruptSignal, stderrProgress } from "./embedded-progress.js";
import { inspectModel } from "./inspect.js";

const demoModelDir = fileURLToPath(new URL("../../../../models/tinystories-llama-8L", import.meta.url));
const DEMO_NAME = "tinystories-llama-8L";

interface DemoOptions {
  json?: boolean;
  stateDir?: string;
  blocks: string;
  maxTokens: string;
  full?: boolean;
  quiet?: boolean;
  retrainSteps: string;
}

/** The demo's retraining: LoRA (paper defaults r 8, alpha 16, all 7 projections) on in-domain text (the
 *  TinyStories head that also calibrates; the evaluation text is held out from it). */
const RETRAIN = { batch: 4, seqLen: 128, lr: 1e-3, warmup: 3, checkpointEvery: 10 } as const;
/** The model's own domain first; the rest are shown as out-of-domain. */
const IN_DOMAIN = "tinystories";
const DATASETS = [IN_DOMAIN, "wikitext2", "ptb"] as const;
/** The criterion whose choice is shown beside PPL's (available to jobs without gradients). */
const SECOND_CRITERION = "magnitude";

export function register(program: Command): void {
  program
    .command("demo")
    .description(
      "the paper's pipeline on the shipped 8-block TinyStories LLaMA, in-process: importance, prune, LoRA, in-domain perplexity",
    )
    .option("--state-dir <dir>", "embedded state folder (default ./.shortened or $SHORTENED_HOME)")
    .option("--blocks <n>", "number of blocks to remove", "2")
    .option("--max-tokens <n>", "evaluate on the first N tokens of each dataset (quick)", "32768")
    .option("--retrain-steps <n>", "LoRA steps after pruning (0: no retraining)", "30")
    .option(
      "--full",
      "evaluate on the whole texts (held-out TinyStories, WikiText-2 test, PTB validation; slower)",
    )
    .option("--quiet", "no progress lines on stderr")
    .option("--json", "print one JSON object")
    .action((opts: DemoOptions) => runCommand(opts, () => demo(opts), human));
}

async function demo(opts: DemoOptions) {
  const count = Number(opts.blocks);
  const maxTokens = opts.full ? undefined : Number(opts.maxTokens);
  if (!Number.isInteger(count) || count < 1 || count > 6)
    throw new UserError("bad_request", "--blocks must be 1..6");
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 256))
    throw new UserError("bad_request", "--max-tokens must be an integer ≥ 256");
  const retrainSteps = Number(opts.retrainSteps);
  if (!Number.isInteger(retrainSteps) || retrainSteps < 0 || retrainSteps > 10_000)
    throw new UserError("bad_request", "--retrain-steps must be an integer in 0..10000");
  const started = Date.now();
  const env = await openEmbedded(defaultStateDir(opts.stateDir), {
    progress: opts.quiet ? undefined : stderrProgress(),
    signal: interruptSignal(),
  });
  try {
    const db = env.db.prisma;
    const teamId = await localTeamId(db);
    const facts = inspectModel(demoModelDir);
    const existing = await db.model.findFirst({ where: { teamId, name: DEMO_NAME } });
    if (!existing)
      await registerFromFolder(db, env.store, {
        teamId,
        name: DEMO_NAME,
        dir: demoModelDir,
        sourceUri: `file://${demoModelDir}`,
        license: "MIT",
      });
    const base = await resolveVersion(db, teamId, `${DEMO_NAME}@1`);
    const evaluate = DATASETS.map((dataset) => ({
      dataset,
      seqLen: 128,
      bos: "first",
      ...(maxTokens ? { maxTokens } : {}),
    }));

    // The base model's perplexity, on exactly the protocol used after pruning.
    const baseEval = [];
    for (const e of evaluate) {
      const { job } = await submitJob(db, env.dispatcher, teamId, { kind: "evaluate", model: base.id, ...e });
      baseEval.push(await db.job.findUniqueOrThrow({ where: { id: job.id } }));
    }
    const importance = {
      calibration: { dataset: "tinystories", n: 8, seqLen: 128, seed: 1234 },
      keepFirst: 1,
      keepLast: 1,
    } as const;
    // The second criterion's choice, on the same calibration and "+" rule, to set beside PPL's.
    const { job: second } = await submitJob(db, env.dispatcher, teamId, {
      kind: "importance",
      model: base.id,
      criterion: SECOND_CRITERION,
      ...importance,
    });
    const secondJob = await db.job.findUniqueOrThrow({ where: { id: second.id } });
    const { job: pipe } = await submitJob(db, env.dispatcher, teamId, {
      kind: "pipeline",
      model: base.id,
      importance: { criterion: "ppl", ...importance },
      prune: { count, rule: "plus" },
      ...(retrainSteps > 0
        ? {
            retrain: {
              method: "lora",
              data: { dataset: "tinystories" },
              steps: retrainSteps,
              ...RETRAIN,
              merge: true,
            },
          }
        : {}),
      evaluate,
    });
    const pipeline = await db.job.findUniqueOrThrow({ where: { id: pipe.id } });
    const steps = await pipelineSteps(db, pipe.id);
    const failed = [pipeline, ...steps, ...baseEval, secondJob].find((j) => j.state !== "succeeded");
    if (failed) throw new Error(`demo job ${failed.kind} ${failed.state}: ${failed.reason ?? ""}`);
    const imp = steps.find((s) => s.kind === "importance")!.result as Record<string, unknown>;
    const pr = steps.find((s) => s.kind === "prune")!;
    const prResult = pr.result as { removed: number[]; kept: number[]; numHiddenLayers: number };
    const outVersion = pr.outputVersion!.id;
    // With retraining the pipeline evaluates the merged model; the pruned one is measured here, alike.
    if (steps.some((s) => s.kind === "retrain"))
      for (const e of evaluate) {
        const { job } = await submitJob(db, env.dispatcher, teamId, {
          kind: "evaluate",
          model: outVersion,
          ...e,
        });
        const row = await db.job.findUniqueOrThrow({ where: { id: job.id } });
        if (row.state !== "succeeded") throw new Error(`demo job evaluate ${row.state}: ${row.reason ?? ""}`);
      }
    const ppl = async (versionId: string) =>
      Object.fromEntries(
        (await listMetrics(db, teamId, { versionId }))
          .filter((m) => m.name.startsWith("ppl_"))
          .map((m) => [m.name, { value: m.value, protocol: m.protocol }]),
      );
    const version = await db.modelVersion.findUniqueOrThrow({ where: { id: outVersion } });
    const rt = steps.find((s) => s.kind === "retrain");
    const rtResult = rt?.result as
      | { finalLoss: number; firstLoss: number; phases: { losses: number[] }[]; data: { rows: number } }
      | undefined;
    const losses = rtResult?.phases[0]?.losses ?? [];
    const mean = (xs: number[]) => {
      const ok = xs.filter((x) => Number.isFinite(x));
      return ok.reduce((a, b) => a + b, 0) / ok.length;
    };
    const window = Math.min(5, Math.floor(losses.length / 2));
    const retrained = rt?.outputVersion
      ? {
          method: "lora",
          data: `TinyStories text (data/tinystories, ${rtResult?.data.rows} rows of ${RETRAIN.seqLen} tokens)`,
          steps: retrainSteps,
          settings: { ...RETRAIN, r: 8, alpha: 16 },
          losses,
          // Per-step losses are over different rows: compare the means of the first and last steps.
          lossStart: mean(losses.slice(0, window)),
          lossEnd: mean(losses.slice(-window)),
          versionId: rt.outputVersion.id,
          folder: env.store.pathOf(
            (await db.modelVersion.findUniqueOrThrow({ where: { id: rt.outputVersion.id } })).storagePrefix,
          ),
        }
      : null;
    const perplexity = {
      base: await ppl(base.id),
      pruned: await ppl(outVersion),
      ...(retrained ? { retrained: await ppl(retrained.versionId) } : {}),
    };
    return {
      stateDir: env.stateDir,
      model: {
        name: DEMO_NAME,
        path: demoModelDir,
        layers: facts.numHiddenLayers,
        parameters: facts.parameters,
        hiddenSize: facts.hiddenSize,
      },
      importance: {
        criterion: "ppl",
        calibration: "TinyStories validation text (data/tinystories) n=8 seqLen=128",
        scores: imp.scores,
        order: imp.order,
        orderPlus: imp.orderPlus,
      },
      // What the second criterion would have removed, on the same rule.
      secondCriterion: {
        criterion: SECOND_CRITERION,
        scores: (secondJob.result as Record<string, unknown>).scores,
        orderPlus: (secondJob.result as Record<string, unknown>).orderPlus,
        wouldRemove: ((secondJob.result as { orderPlus: number[] }).orderPlus ?? []).slice(0, count),
      },
      pruned: {
        removed: prResult.removed,
        kept: prResult.kept,
        layers: prResult.numHiddenLayers,
        versionId: outVersion,
        storagePrefix: version.storagePrefix,
        folder: env.store.pathOf(version.storagePrefix),
      },
      retrained,
      perplexity,
      inDomain: IN_DOMAIN,
      reading: reading(perplexity, `ppl_${IN_DOMAIN}`, prResult.removed.length, facts.numHiddenLayers),
      jobs: { pipeline: pipe.id, steps: steps.map((s) => ({ id: s.id, kind: s.kind, state: s.state })) },
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await env.close();
  }
}

type Ppl = Record<string, { value: number } | undefined>;

/** One line that says what the in-domain numbers mean: how much pruning cost and how much retraining won back. */
export function reading(
  p: { base: Ppl; pruned: Ppl; retrained?: Ppl },
  name: string,
  removed: number,
  layers: number,
): string {
  const [base, pruned, retrained] = [p.base[name]?.value, p.pruned[name]?.value, p.retrained?.[name]?.value];
  if (base === undefined || pruned === undefined) return "no in-domain perplexity to read";
  const cut = `removing ${removed} of ${layers} blocks`;
  if (pruned <= base)
    return `${cut} did not raise in-domain perplexity (${base.toFixed(2)} -> ${pruned.toFixed(2)})`;
  const hurt = `${cut} raised in-domain perplexity ${base.toFixed(2)} -> ${pruned.toFixed(2)}`;
  if (retrained === undefined) return `${hurt}; no retraining was run`;
  const won = (pruned - retrained) / (pruned - base);
  if (won <= 0) return `${hurt}; the short LoRA run won none of it back (${retrained.toFixed(2)})`;
  if (won >= 1)
    return `${hurt}; the short LoRA run on in-domain text brought it back to ${retrained.toFixed(2)}, at or below the base`;
  return `${hurt}; the short LoRA run won back ${Math.round(won * 100)}% of the increase (${retrained.toFixed(2)})`;
}

type DemoResult = Awaited<ReturnType<typeof demo>>;

const DATASET_LABEL: Record<string, string> = {
  ppl_tinystories: "TinyStories (held out)",
  ppl_wikitext2: "WikiText-2 test",
  ppl_ptb: "PTB validation",
};

function human(r: DemoResult): string {
  const fmt = (m: { value: number } | undefined) => (m ? m.value.toFixed(2).padStart(9) : "        -");
  const proto = Object.values(r.perplexity.base)[0]?.protocol as
    | { seqLen?: number; maxTokens?: number | null }
    | undefined;
  const row = (name: string) =>
    `             ${DATASET_LABEL[name]!.padEnd(24)}${fmt(r.perplexity.base[name])} ${fmt(r.perplexity.pruned[name])}${r.retrained ? ` ${fmt(r.perplexity.retrained?.[name])}` : ""}`;
  const rt = r.retrained;
  const scores = (xs: unknown) => (xs as number[]).map((x) => x.toPrecision(3)).join(", ");
  const second = r.secondCriterion;
  const lines = [
    `model      ${r.model.name}: ${r.model.layers} blocks, ${r.model.parameters.toLocaleString("en-US")} parameters (hidden ${r.model.hiddenSize})`,
    `importance on ${r.importance.calibration} (the model's own domain), "+" rule keeping the first and last block`,
    `           PPL criterion (PPL without the block): ${scores(r.importance.scores)}`,
    `             "+" order ${(r.importance.orderPlus as number[]).join(",")} -> removes ${r.pruned.removed.join(", ")}`,
    `           ${second.criterion} criterion: ${scores(second.scores)}`,
    `             "+" order ${(second.orderPlus as number[]).join(",")} -> would remove ${second.wouldRemove.join(", ")}`,
    `pruned     removed blocks ${r.pruned.removed.join(", ")} (PPL criterion) -> ${r.pruned.layers} blocks; version ${r.pruned.versionId}`,
    `           checkpoint: ${r.pruned.folder}`,
    ...(rt
      ? [
          `retrained  LoRA r=${rt.settings.r} alpha=${rt.settings.alpha}, ${rt.steps} steps × ${rt.settings.batch} rows, lr ${rt.settings.lr}, on ${rt.data}`,
          `           training loss ${rt.lossStart.toFixed(3)} (first steps) -> ${rt.lossEnd.toFixed(3)} (last steps); merged version ${rt.versionId}`,
          `           checkpoint: ${rt.folder}`,
        ]
      : []),
    `perplexity seqLen ${proto?.seqLen ?? "?"}, ${proto?.maxTokens ? `first ${proto.maxTokens} tokens of each text` : "full texts"}`,
    `${" ".repeat(37)}${["base", "pruned", ...(rt ? ["retrained"] : [])].map((h) => h.padStart(9)).join(" ")}`,
    `  in-domain`,
    row(`ppl_${r.inDomain}`),
    `  out-of-domain (not what this model was trained on; for reference)`,
    ...DATASETS.filter((d) => d !== r.inDomain).map((d) => row(`ppl_${d}`)),
    `reading    ${r.reading}`,
    `jobs       pipeline ${r.jobs.pipeline}: ${r.jobs.steps.map((s) => `${s.kind} ${s.state}`).join(", ")}`,
    `state      ${r.stateDir} (${r.seconds} s)`,
  ];
  return lines.join("\n");
}
