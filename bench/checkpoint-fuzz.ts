// bench/checkpoint-fuzz: every malformed checkpoint of test/helpers/checkpoint-mutations.ts (config values and
// files, safetensors headers, tensor layout, data section, shard index) tried through the CLI (inspect, prune,
// eval ppl in turn: exit 2, one `error:` line, nothing written) and through registration by upload on the
// service (PostgreSQL, the API in-process: 4xx with the error shape, no model, version, artifact or object
// stored). Writes bench/results/checkpoint-fuzz.json; README "Reliability" quotes its totals.
//
//   flock /work/team/heavy.lock nice -n 5 node --conditions=development --import tsx bench/checkpoint-fuzz.ts \
//     [--stride 1] [--no-cli] [--no-upload] [--retry-cli-unclean]
//
// --retry-cli-unclean: runs through the CLI only the cases the last results file lists as unclean (with the
// same command each had), and updates that file's CLI tally in place (a run cut short by something outside
// the product, such as a reinstall of node_modules, is finished without redoing the rest).
//
// Needs PostgreSQL on 127.0.0.1 (as the tests). One CLI start per case: ~350 starts take several minutes.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { scratchDir } from "../test/helpers/bad-checkpoints.js";
import { CLI_COMMANDS, type Outcome, tryCli, tryUpload } from "../test/helpers/checkpoint-fuzz.js";
import { buildCase, sampleCases } from "../test/helpers/checkpoint-mutations.js";
import { startTeamsRig } from "../test/helpers/teams-app.js";

const { values: args } = parseArgs({
  options: {
    stride: { type: "string", default: "1" },
    "no-cli": { type: "boolean", default: false },
    "no-upload": { type: "boolean", default: false },
    "retry-cli-unclean": { type: "boolean", default: false },
  },
});

const resultsFile = new URL("./results/checkpoint-fuzz.json", import.meta.url);
if (args["retry-cli-unclean"]) await retryCliUnclean();
const cases = sampleCases(Number(args.stride));
const work = scratchDir("bench-checkpoint-fuzz-");
const started = Date.now();

interface Tally {
  tried: number;
  clean: number;
  byFamily: Record<string, { tried: number; clean: number }>;
  unclean: string[];
}
const tally = (): Tally => ({ tried: 0, clean: 0, byFamily: {}, unclean: [] });
function record(t: Tally, family: string, id: string, o: Outcome): void {
  t.tried++;
  t.byFamily[family] ??= { tried: 0, clean: 0 };
  const f = t.byFamily[family];
  f.tried++;
  if (o.clean) {
    t.clean++;
    f.clean++;
  } else t.unclean.push(`${id}: ${o.detail}`);
}

const cli = tally();
const cliByCommand: Record<string, number> = {};
const upload = tally();
try {
  if (!args["no-upload"]) {
    const rig = await startTeamsRig();
    try {
      for (const c of cases) {
        const dir = buildCase(c, join(work, "upload"));
        record(upload, c.family, c.id, await tryUpload(rig, dir, `fuzz-${c.id}`.slice(0, 100)));
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await rig.close();
    }
    console.log(`upload: ${upload.clean}/${upload.tried} clean`);
  }
  if (!args["no-cli"]) {
    cases.forEach((c, i) => {
      const caseWork = join(work, `cli-${i}`);
      mkdirSync(caseWork);
      const command = CLI_COMMANDS[i % CLI_COMMANDS.length]!;
      cliByCommand[command] = (cliByCommand[command] ?? 0) + 1;
      record(cli, c.family, c.id, tryCli(buildCase(c, caseWork), command, caseWork));
      rmSync(caseWork, { recursive: true, force: true });
      if ((i + 1) % 50 === 0) console.log(`cli: ${i + 1}/${cases.length}`);
    });
    console.log(`cli: ${cli.clean}/${cli.tried} clean`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length}× ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  loadAverage: os.loadavg().map((x) => Number(x.toFixed(1))),
  seconds: Math.round((Date.now() - started) / 1000),
  cases: cases.length,
  cli: { ...cli, byCommand: cliByCommand },
  upload,
};
writeFileSync(resultsFile, `${JSON.stringify(result, null, 2)}\n`);
console.log(
  JSON.stringify({ ...result, cli: { ...result.cli, unclean: cli.unclean }, upload: { ...upload } }, null, 2),
);
if (cli.unclean.length || upload.unclean.length) process.exitCode = 1;

/** Reruns the CLI cases the results file lists as unclean and rewrites its CLI tally; then exits. */
async function retryCliUnclean(): Promise<never> {
  const previous = JSON.parse(readFileSync(resultsFile, "utf8"));
  const all = sampleCases(Number(args.stride));
  const t0 = Date.now();
  const prevCli = previous.cli as Tally & { byCommand: Record<string, number> };
  const retry = new Set(prevCli.unclean.map((line: string) => line.slice(0, line.indexOf(": "))));
  const work = scratchDir("bench-checkpoint-fuzz-retry-");
  const unclean: string[] = [];
  let clean = 0;
  try {
    all.forEach((c, i) => {
      if (!retry.has(c.id)) return;
      const caseWork = join(work, `cli-${i}`);
      mkdirSync(caseWork);
      const o = tryCli(buildCase(c, caseWork), CLI_COMMANDS[i % CLI_COMMANDS.length]!, caseWork);
      rmSync(caseWork, { recursive: true, force: true });
      const f = prevCli.byFamily[c.family]!;
      if (o.clean) {
        clean++;
        prevCli.clean++;
        f.clean++;
      } else unclean.push(`${c.id}: ${o.detail}`);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const cli = { ...prevCli, unclean };
  const retried = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length}× ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(1))),
    seconds: Math.round((Date.now() - t0) / 1000),
    cases: retry.size,
    clean,
  };
  writeFileSync(resultsFile, `${JSON.stringify({ ...previous, cli, cliRetry: retried }, null, 2)}\n`);
  console.log(JSON.stringify({ cliRetry: retried, unclean }, null, 2));
  process.exit(unclean.length ? 1 : 0);
}
