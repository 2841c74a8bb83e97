// `shortened demo`: the README's one command. In embedded mode (PGlite + a local folder, the same job
// handlers as the service) it registers the shipped tiny LLaMA, measures its perplexity, and runs the
// paper's pipeline: PPL-criterion block importance (calibrated on TinyStories text, the model's own
// domain) -> remove 2 blocks by the "+" order -> a short LoRA retraining on Alpaca records, merged ->
// perplexity again; it prints the perplexity before pruning, after pruning and after retraining.
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

/** The demo's retraining: LoRA (paper defaults r 8, alpha 16, all 7 projections) on the shipped Alpaca subset. */
const RETRAIN = { batch: 4, seqLen: 256, lr: 1e-3, warmup: 3, checkpointEvery: 10 } as const;

export function register(program: Command): void {
  program
    .command("demo")
    .description(
      "the paper's pipeline on the shipped 8-block TinyStories LLaMA, in-process: importance, prune, LoRA, perplexity",
    )
    .option("--state-dir <dir>", "embedded state folder (default ./.shortened or $SHORTENED_HOME)")
    .option("--blocks <n>", "number of blocks to remove", "2")
    .option("--max-tokens <n>", "evaluate on the first N tokens of each dataset (quick)", "32768")
    .option("--retrain-steps <n>", "LoRA steps after pruning (0: no retraining)", "30")
    .option("--full", "evaluate on the whole WikiText-2 test and PTB validation texts (slower)")
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
    const evaluate = (["wikitext2", "ptb"] as const).map((dataset) => ({
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
    const { job: pipe } = await submitJob(db, env.dispatcher, teamId, {
      kind: "pipeline",
      model: base.id,
      importance: {
        criterion: "ppl",
        calibration: { dataset: "tinystories", n: 8, seqLen: 128, seed: 1234 },
        keepFirst: 1,
        keepLast: 1,
      },
      prune: { count, rule: "plus" },
      ...(retrainSteps > 0
        ? {
            retrain: {
              method: "lora",
              data: { dataset: "alpaca" },
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
    const failed = [pipeline, ...steps, ...baseEval].find((j) => j.state !== "succeeded");
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
          data: `alpaca (data/alpaca/alpaca_demo_300.json, ${rtResult?.data.rows} records)`,
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
      pruned: {
        removed: prResult.removed,
        kept: prResult.kept,
        layers: prResult.numHiddenLayers,
        versionId: outVersion,
        storagePrefix: version.storagePrefix,
        folder: env.store.pathOf(version.storagePrefix),
      },
      retrained,
      perplexity: {
        base: await ppl(base.id),
        pruned: await ppl(outVersion),
        ...(retrained ? { retrained: await ppl(retrained.versionId) } : {}),
      },
      jobs: { pipeline: pipe.id, steps: steps.map((s) => ({ id: s.id, kind: s.kind, state: s.state })) },
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await env.close();
  }
}

type DemoResult = Awaited<ReturnType<typeof demo>>;

function human(r: DemoResult): string {
  const fmt = (m: { value: number } | undefined) => (m ? m.value.toFixed(2).padStart(9) : "        -");
  const proto = Object.values(r.perplexity.base)[0]?.protocol as
    | { seqLen?: number; maxTokens?: number | null }
    | undefined;
  const after = (name: string) =>
    `${fmt(r.perplexity.base[name])} ${fmt(r.perplexity.pruned[name])}${r.retrained ? ` ${fmt(r.perplexity.retrained?.[name])}` : ""}`;
  const rt = r.retrained;
  const lines = [
    `model      ${r.model.name}: ${r.model.layers} blocks, ${r.model.parameters.toLocaleString("en-US")} parameters (hidden ${r.model.hiddenSize})`,
    `importance PPL criterion on ${r.importance.calibration}`,
    `           scores (PPL without the block) ${(r.importance.scores as number[]).map((s) => s.toFixed(1)).join(", ")}`,
    `           removal order ${(r.importance.order as number[]).join(",")}; "+" order ${(r.importance.orderPlus as number[]).join(",")}`,
    `pruned     removed blocks ${r.pruned.removed.join(", ")} -> ${r.pruned.layers} blocks; version ${r.pruned.versionId}`,
    `           checkpoint: ${r.pruned.folder}`,
    ...(rt
      ? [
          `retrained  LoRA r=${rt.settings.r} alpha=${rt.settings.alpha}, ${rt.steps} steps × ${rt.settings.batch} rows, lr ${rt.settings.lr}, on ${rt.data}`,
          `           training loss ${rt.lossStart.toFixed(3)} (first steps) -> ${rt.lossEnd.toFixed(3)} (last steps); merged version ${rt.versionId}`,
          `           checkpoint: ${rt.folder}`,
        ]
      : []),
    `perplexity seqLen ${proto?.seqLen ?? "?"}, ${proto?.maxTokens ? `first ${proto.maxTokens} tokens of each text` : "full texts"}`,
    `${" ".repeat(32)}${["base", "pruned", ...(rt ? ["retrained"] : [])].map((h) => h.padStart(9)).join(" ")}`,
    `           WikiText-2 test      ${after("ppl_wikitext2")}`,
    `           PTB validation       ${after("ppl_ptb")}`,
    `jobs       pipeline ${r.jobs.pipeline}: ${r.jobs.steps.map((s) => `${s.kind} ${s.state}`).join(", ")}`,
    `state      ${r.stateDir} (${r.seconds} s)`,
  ];
  return lines.join("\n");
}
