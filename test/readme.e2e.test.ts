// The README's examples, run as written: every `curl` and `npx shortened` line of its code blocks runs in bash
// against a test stack (PostgreSQL, the API on 127.0.0.1, a team with admin and member keys, the demo model
// registered as "tiny" with versions 2 and 3 and their metrics), in README order, and must succeed (exit 0,
// HTTP 2xx). `npx shortened` runs this checkout's CLI from source, in a scratch folder (its embedded state and
// outputs land there); `$ cmd` lines are followed by the output they must start with. A block preceded by
// `<!-- readme-test: skip: reason -->` is not run. JSON blocks that are job specs must parse as job specs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { JobSpec } from "@shortened/contracts";
import { repoRoot } from "./helpers/service.js";
import {
  latencyProtocol,
  pplProtocol,
  pruneTinyAsWorker,
  runJobAsWorker,
  startTeamsRig,
  type TeamsRig,
} from "./helpers/teams-app.js";

interface Example {
  line: number;
  command: string;
  /** Output the command's stdout must start with (whitespace-insensitive), for `$ cmd` examples. */
  output?: string;
}

interface Skipped {
  line: number;
  reason: string;
}

/** Code blocks of a Markdown text: fenced (with their language) and indented, with their first line. */
function codeBlocks(md: string): { lang: string; line: number; lines: string[]; skip?: string }[] {
  const lines = md.split("\n");
  const blocks: { lang: string; line: number; lines: string[]; skip?: string }[] = [];
  let skip: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!-- readme-test: skip: (.+?) -->$/.exec(lines[i]);
    if (marker) {
      skip = marker[1];
      continue;
    }
    const fence = /^```(\w*)/.exec(lines[i]);
    if (fence) {
      const start = i + 1;
      while (++i < lines.length && !lines[i].startsWith("```"));
      blocks.push({ lang: fence[1], line: start + 1, lines: lines.slice(start, i), skip });
      skip = undefined;
    } else if (/^ {4}\S/.test(lines[i]) && (i === 0 || lines[i - 1].trim() === "")) {
      const start = i;
      while (i + 1 < lines.length && (/^ {4}/.test(lines[i + 1]) || lines[i + 1].trim() === "")) i++;
      blocks.push({
        lang: "",
        line: start + 1,
        lines: lines.slice(start, i + 1).map((l) => l.slice(4)),
        skip,
      });
      skip = undefined;
    } else if (lines[i].trim() !== "") skip = undefined;
  }
  return blocks;
}

const isExample = (l: string) => /^(\$ )?(npx shortened|curl) /.test(l);

/** The runnable examples, a command spanning lines while a quote is open or a line ends in a backslash. */
function readmeExamples(md: string): { examples: Example[]; skipped: Skipped[] } {
  const examples: Example[] = [];
  const skipped: Skipped[] = [];
  for (const b of codeBlocks(md)) {
    if (!["", "sh", "bash", "console"].includes(b.lang)) continue;
    if (!b.lines.some((l) => isExample(l.trim()))) continue;
    if (b.skip) {
      skipped.push({ line: b.line, reason: b.skip });
      continue;
    }
    for (let i = 0; i < b.lines.length; i++) {
      const first = b.lines[i].trim();
      if (!isExample(first)) continue;
      let command = first.replace(/^\$ /, "");
      const continues = (c: string) => (c.match(/'/g)?.length ?? 0) % 2 === 1 || /\\\s*$/.test(c);
      while (continues(command) && i + 1 < b.lines.length) command += `\n${b.lines[++i]}`;
      const example: Example = { line: b.line + i, command };
      if (first.startsWith("$ ")) {
        const out: string[] = [];
        while (i + 1 < b.lines.length && b.lines[i + 1].trim() !== "" && !isExample(b.lines[i + 1].trim()))
          out.push(b.lines[++i]);
        example.output = out.join(" ");
      }
      examples.push(example);
    }
  }
  return { examples, skipped };
}

const squash = (s: string) => s.replace(/\s+/g, " ").trim();
/** The README's output with each "…" standing for anything (timings, elided text). */
const outputPattern = (out: string) =>
  new RegExp(
    `^${squash(out)
      .split("…")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*?")}`,
  );

/** An error answer of the API. */
type ErrorAnswer = { error: { code: string; message: string } };

describe("the README's examples", { timeout: 900_000 }, () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const { examples, skipped } = readmeExamples(readme);
  const work = mkdtempSync(join(tmpdir(), "readme-"));
  let rig: TeamsRig;
  let env: Record<string, string> = {};

  before(async () => {
    rig = await startTeamsRig();
    const { a, model } = rig;
    // tiny@1 (base) -> @2 (pruned: ppl +2.2, refused by the README's rule) -> @3 (retrained: within the rules).
    const pruned = await pruneTinyAsWorker(rig, a.admin, [
      { name: "ppl_wikitext2", value: 12.0, protocol: pplProtocol(128), versionId: model.versionId },
      { name: "latency_s", value: 1.0, protocol: latencyProtocol(1), versionId: model.versionId },
      { name: "ppl_wikitext2", value: 14.2, protocol: pplProtocol(128) },
      { name: "latency_s", value: 0.8, protocol: latencyProtocol(1) },
    ]);
    const retrained = await runJobAsWorker(
      rig,
      a.admin,
      { kind: "retrain", model: pruned.versionId!, steps: 2 },
      {
        version: { kind: "merged", recipe: { method: "lora", steps: 2 } },
        metrics: [
          { name: "ppl_wikitext2", value: 12.5, protocol: pplProtocol(128) },
          { name: "latency_s", value: 0.75, protocol: latencyProtocol(1) },
        ],
      },
    );
    const spare = await rig.call("POST", "/v1/keys", { key: a.admin, body: { name: "deploy" } });
    assert.equal(spare.status, 201, spare.text);
    for (const dir of ["models", "data", "packages", "node_modules"])
      symlinkSync(join(repoRoot, dir), join(work, dir));
    env = {
      API: rig.url,
      KEY: a.member,
      ADMIN: a.admin,
      TEAM_ID: a.teamId,
      KEY_ID: spare.body.id,
      JOB: retrained.jobId,
      VERSION: retrained.versionId!,
      DATABASE_URL: rig.databaseUrl,
    };
  });

  after(async () => {
    await rig?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("finds the examples, and every skipped block says why", () => {
    assert.ok(examples.length >= 25, `only ${examples.length} examples found`);
    assert.ok(examples.some((e) => e.command.startsWith("curl")) && examples.some((e) => e.output));
    for (const s of skipped) assert.ok(s.reason.length > 10, `README.md:${s.line} needs a reason to skip`);
  });

  it("runs every example as written", async () => {
    const failures: string[] = [];
    for (const e of examples) {
      const r = await runExample(e.command, work, env);
      const status = e.command.startsWith("curl") ? Number(r.stdout.trimEnd().split("\n").at(-1)) : 200;
      const stdout = e.command.startsWith("curl")
        ? r.stdout.slice(0, r.stdout.trimEnd().lastIndexOf("\n"))
        : r.stdout;
      const wrong =
        r.code !== 0
          ? `exit ${r.code}`
          : status < 200 || status > 299
            ? `HTTP ${status}`
            : e.output && !outputPattern(e.output).test(squash(stdout))
              ? "output differs from the README"
              : null;
      if (wrong)
        failures.push(
          `README.md:${e.line} ${wrong}: ${e.command}\n${stdout.slice(0, 400)}${r.stderr.slice(-600)}`,
        );
    }
    assert.deepEqual(failures, []);
  });

  it("shows job specs that parse as job specs", () => {
    const specs = codeBlocks(readme).filter(
      (b) => b.lang === "json" && b.lines.join("\n").includes('"kind"'),
    );
    assert.ok(specs.length >= 2);
    for (const b of specs) {
      const r = JobSpec.safeParse(JSON.parse(b.lines.join("\n")));
      assert.ok(r.success, `README.md:${b.line}: ${r.error?.message}`);
    }
  });

  it("takes bodiless POSTs with or without an empty JSON body, and says what to send on a wrong Content-Type", async () => {
    for (const headers of [{}, { "content-type": "application/json" }] as Record<string, string>[]) {
      const spec = { kind: "evaluate", model: "tiny" };
      const job = await rig.call("POST", "/v1/jobs", { key: rig.a.member, body: spec });
      const res = await fetch(`${rig.url}/v1/jobs/${job.body.id}/cancel`, {
        method: "POST",
        headers: { authorization: `Bearer ${rig.a.member}`, ...headers },
      });
      assert.equal(res.status, 200, await res.text());
    }
    const form = await fetch(`${rig.url}/v1/models/tiny/aliases/prod`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${rig.a.member}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: '{"version": 1}',
    });
    assert.equal(form.status, 415);
    const { error } = (await form.json()) as ErrorAnswer;
    assert.equal(error.code, "unsupported_media_type");
    assert.match(error.message, /send JSON with Content-Type: application\/json/);
    const bare = await fetch(`${rig.url}/v1/models/tiny/aliases/prod`, {
      method: "PUT",
      headers: { authorization: `Bearer ${rig.a.member}` },
      body: new TextEncoder().encode('{"version": 1}'),
    });
    assert.equal(bare.status, 415);
    assert.match(
      ((await bare.json()) as ErrorAnswer).error.message,
      /a body needs a Content-Type: send JSON/,
    );
  });
});

/**
 * Runs one example in bash: `npx shortened` runs this checkout's bin (as npx would: the build when there is one,
 * else the sources), never the registry; `curl` prints the status on a last line.
 */
function runExample(
  command: string,
  cwd: string,
  vars: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = join(repoRoot, "apps", "cli", "bin", "shortened.js");
  const prelude = [
    `npx() { if [ "$1" = shortened ]; then shift; node ${bin} "$@"; else echo "npx $1: not in the README test" >&2; return 127; fi; }`,
    `curl() { command curl -sS --max-time 60 -w '\\n%{http_code}' "$@"; }`,
  ].join("\n");
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", `${prelude}\n${command}`], {
      cwd,
      env: { ...process.env, ...vars },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => {
      stdout += b;
    });
    child.stderr.on("data", (b) => {
      stderr += b;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
