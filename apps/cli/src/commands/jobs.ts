// `shortened jobs ...`: submit and follow jobs, embedded (default) or on a service (--server/--key).
import { readFileSync } from "node:fs";
import { finishedStates, UserError } from "@shortened/contracts";
import type { Command } from "commander";
import { type ClientOptions, clientAction, withClient } from "./service-client.js";

type Opts = ClientOptions & { json?: boolean };

function readSpec(arg: string): unknown {
  const text = arg.startsWith("@") ? readFileSync(arg.slice(1), "utf8") : arg;
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError("bad_request", "--spec must be JSON (or @file.json)");
  }
}

const jobLine = (j: Record<string, unknown>) =>
  `${j.id}  ${String(j.kind).padEnd(10)} ${String(j.state).padEnd(9)} ${Math.round(Number(j.progress) * 100)}%${j.reason ? `  ${j.reason}` : ""}`;

export function register(program: Command): void {
  const jobs = program.command("jobs").description("submit, list, follow, cancel and retry jobs");

  const submit = jobs
    .command("submit")
    .description("submit a job spec (embedded mode runs it to the end)")
    .requiredOption(
      "--spec <json>",
      'the job spec as JSON, or @file.json (e.g. {"kind":"prune","model":"m","blocks":[5,6]})',
    )
    .option("--idempotency-key <key>", "a repeat with the same key returns the first job")
    .option("--wait", "with --server: poll until the job finishes");
  clientAction(
    submit,
    (o) =>
      withClient(o, async (c) => {
        const x = o as Opts & { spec: string; idempotencyKey?: string; wait?: boolean };
        let job = await c.submit(readSpec(x.spec), x.idempotencyKey);
        while (x.wait && !finishedStates.includes(job.state as never)) {
          await new Promise((r) => setTimeout(r, 1000));
          job = await c.job(String(job.id));
        }
        return job;
      }),
    jobLine,
  );

  clientAction(
    jobs.command("get <id>").description("a job"),
    (o, id) => withClient(o, (c) => c.job(id)),
    jobLine,
  );

  const list = jobs
    .command("list")
    .description("jobs, newest first")
    .option("--state <state>")
    .option("--kind <kind>")
    .option("--limit <n>", "page size", "20")
    .option("--cursor <id>");
  clientAction(
    list,
    (o) =>
      withClient(o, (c) => {
        const x = o as Opts & Record<string, string | undefined>;
        const q = Object.fromEntries(
          Object.entries({ state: x.state, kind: x.kind, limit: x.limit, cursor: x.cursor }).filter(
            ([, v]) => v !== undefined,
          ),
        ) as Record<string, string>;
        return c.jobs(q);
      }),
    (r) =>
      ((r.items as Record<string, unknown>[]).map(jobLine).join("\n") || "no jobs") +
      (r.nextCursor ? `\nmore: --cursor ${r.nextCursor}` : ""),
  );

  clientAction(
    jobs.command("cancel <id>").description("cancel a job"),
    (o, id) => withClient(o, (c) => c.cancel(id)),
    jobLine,
  );
  clientAction(
    jobs.command("retry <id>").description("retry a failed or cancelled job"),
    (o, id) => withClient(o, (c) => c.retry(id)),
    jobLine,
  );
  clientAction(
    jobs
      .command("events <id>")
      .description("progress, log lines, metrics and state changes")
      .option("--after <seq>", "only events after this cursor"),
    (o, id) => withClient(o, (c) => c.events(id, (o as Opts & { after?: string }).after)),
    (r) =>
      (r.items as { seq: string; type: string; data: unknown }[])
        .map((e) => `${e.seq.padStart(6)} ${e.type.padEnd(8)} ${JSON.stringify(e.data)}`)
        .join("\n"),
  );
  clientAction(
    jobs.command("artifacts <id>").description("files a job produced"),
    (o, id) => withClient(o, (c) => c.jobArtifacts(id)),
    (r) =>
      (r.items as { name: string; size: number; sha256: string }[])
        .map((a) => `${a.name}  ${a.size} bytes  sha256 ${a.sha256}`)
        .join("\n"),
  );
}
