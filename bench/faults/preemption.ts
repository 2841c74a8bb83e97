// bench/faults/preemption: kill -9 and SIGTERM of workers during LoRA retraining, for the README's
// "Reliability" figures (test/retrain-preemption.e2e.test.ts is the bounded CI case of the same stack,
// test/helpers/preemption.ts). One invocation is one run, so that each fits a 12-minute hold:
//
//   bash /work/team/heavy.sh node --conditions=development --import tsx bench/faults/preemption.ts --clean
//   bash /work/team/heavy.sh node --conditions=development --import tsx bench/faults/preemption.ts --plan kill,term,kill,kill
//
// --clean runs the spec uninterrupted and keeps its outputs' sha256 as the reference; --plan runs it with the
// given interruptions of the worker holding the job (each after a newly saved state) and checks the run
// against the reference: succeeded, every output's sha256 equal, one version, metrics and artifact rows as
// many as the clean run's. Runs accumulate in bench/results/faults-preemption.json.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { type PreemptedRun, preemptionStack, RETRAIN_SPEC } from "../../test/helpers/preemption.js";

const { values: args } = parseArgs({
  options: { clean: { type: "boolean", default: false }, plan: { type: "string" } },
});
const plan = (args.plan ?? "").split(",").filter(Boolean) as ("kill" | "term")[];
if (!args.clean && !plan.length) throw new Error("give --clean or --plan kill,term,...");
if (plan.some((p) => p !== "kill" && p !== "term")) throw new Error("--plan takes kill and term");

const file = new URL("../results/faults-preemption.json", import.meta.url);
interface Results {
  spec: typeof RETRAIN_SPEC;
  reference?: PreemptedRun & { date: string };
  runs: (PreemptedRun & {
    date: string;
    machine: string;
    loadAverage: number[];
    seconds: number;
    plan: string[];
    ok: boolean;
    problems: string[];
  })[];
}
const results: Results = existsSync(file)
  ? JSON.parse(readFileSync(file, "utf8"))
  : { spec: RETRAIN_SPEC, runs: [] };
if (!args.clean && !results.reference) throw new Error("run --clean first (the reference outputs)");

const machine = `${os.cpus().length}× ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
const stack = await preemptionStack();
const t0 = Date.now();
try {
  const run = await stack.run(args.clean ? [] : plan);
  const date = new Date().toISOString();
  if (args.clean) {
    if (run.state !== "succeeded") throw new Error(`the clean run failed: ${JSON.stringify(run)}`);
    results.reference = { ...run, date };
    console.log(JSON.stringify({ reference: results.reference, machine }, null, 2));
  } else {
    const ref = results.reference!;
    const problems: string[] = [];
    if (run.state !== "succeeded") problems.push(`state ${run.state}: ${run.reason}`);
    if (run.kills + run.sigterms !== plan.length)
      problems.push(`${run.kills + run.sigterms} of ${plan.length} interruptions hit the running job`);
    if (JSON.stringify(run.outputs) !== JSON.stringify(ref.outputs))
      problems.push("outputs differ from the reference");
    if (run.versions !== 1) problems.push(`${run.versions} versions`);
    if (run.metrics !== ref.metrics) problems.push(`${run.metrics} metrics (reference ${ref.metrics})`);
    if (run.artifactRows !== ref.artifactRows)
      problems.push(`${run.artifactRows} artifact rows (reference ${ref.artifactRows})`);
    if (run.attempts !== run.preemptions + 1)
      problems.push(`${run.attempts} attempts for ${run.preemptions} preemptions`);
    const entry = {
      ...run,
      date,
      machine,
      loadAverage: os.loadavg().map((x) => Number(x.toFixed(1))),
      seconds: Math.round((Date.now() - t0) / 1000),
      plan,
      ok: problems.length === 0,
      problems,
    };
    results.runs.push(entry);
    console.log(JSON.stringify(entry, null, 2));
    if (problems.length) process.exitCode = 1;
  }
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const runs = results.runs;
  console.log(
    `runs ${runs.length}, ok ${runs.filter((r) => r.ok).length}; kill -9 ${runs.reduce((a, r) => a + r.kills, 0)}, SIGTERM ${runs.reduce((a, r) => a + r.sigterms, 0)}`,
  );
} finally {
  await stack.close();
}
