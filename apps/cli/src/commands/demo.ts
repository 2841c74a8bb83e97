// `shortened demo`: the README's one command. In embedded mode (PGlite + a local folder, the same job
// handlers as the service) it registers the shipped tiny LLaMA, measures its perplexity, runs a pipeline
// (PPL-criterion block importance -> remove 2 blocks by the "+" order -> perplexity again) and prints
// what it did.
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
}

export function register(program: Command): void {
  program
    .command("demo")
    .description(
      "prune the shipped 8-block TinyStories LLaMA in embedded mode and show perplexity before and after",
    )
    .option("--state-dir <dir>", "embedded state folder (default ./.shortened or $SHORTENED_HOME)")
    .option("--blocks <n>", "number of blocks to remove", "2")
    .option("--max-tokens <n>", "evaluate on the first N tokens of each dataset (quick)", "32768")
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
        calibration: { dataset: "ptb", n: 8, seqLen: 128, seed: 1234 },
        keepFirst: 1,
        keepLast: 1,
      },
      prune: { count, rule: "plus" },
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
    const ppl = async (versionId: string) =>
      Object.fromEntries(
        (await listMetrics(db, teamId, { versionId })).map((m) => [
          m.name,
          { value: m.value, protocol: m.protocol },
        ]),
      );
    const version = await db.modelVersion.findUniqueOrThrow({ where: { id: outVersion } });
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
        calibration: "ptb n=8 seqLen=128",
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
      perplexity: { base: await ppl(base.id), pruned: await ppl(outVersion) },
      jobs: { pipeline: pipe.id, steps: steps.map((s) => ({ id: s.id, kind: s.kind, state: s.state })) },
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await env.close();
  }
}

type DemoResult = Awaited<ReturnType<typeof demo>>;

function human(r: DemoResult): string {
  const fmt = (m: { value: number } | undefined) => (m ? m.value.toFixed(2) : "-");
  const proto = Object.values(r.perplexity.base)[0]?.protocol as
    | { seqLen?: number; maxTokens?: number | null }
    | undefined;
  const lines = [
    `model      ${r.model.name}: ${r.model.layers} blocks, ${r.model.parameters.toLocaleString("en-US")} parameters (hidden ${r.model.hiddenSize})`,
    `importance PPL criterion on ${r.importance.calibration}: scores ${(r.importance.scores as number[]).map((s) => s.toFixed(1)).join(", ")}`,
    `           removal order ${(r.importance.order as number[]).join(",")}; "+" order ${(r.importance.orderPlus as number[]).join(",")}`,
    `pruned     removed blocks ${r.pruned.removed.join(", ")} -> ${r.pruned.layers} blocks; version ${r.pruned.versionId}`,
    `           checkpoint: ${r.pruned.folder}`,
    `perplexity (seqLen ${proto?.seqLen ?? "?"}, ${proto?.maxTokens ? `first ${proto.maxTokens} tokens` : "full text"})   base -> pruned`,
    `           WikiText-2 test      ${fmt(r.perplexity.base.ppl_wikitext2)} -> ${fmt(r.perplexity.pruned.ppl_wikitext2)}`,
    `           PTB validation       ${fmt(r.perplexity.base.ppl_ptb)} -> ${fmt(r.perplexity.pruned.ppl_ptb)}`,
    `jobs       pipeline ${r.jobs.pipeline}: ${r.jobs.steps.map((s) => `${s.kind} ${s.state}`).join(", ")}`,
    `state      ${r.stateDir} (${r.seconds} s)`,
  ];
  return lines.join("\n");
}
