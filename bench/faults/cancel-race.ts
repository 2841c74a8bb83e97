// Is a cancel ever lost? Playground-style rounds against a real stack (one worker, its interactive slot):
// three generate jobs at once, then "Cancel all" after a random delay, so cancels land on jobs that are
// queued, starting (queued → running), generating, or finishing. Every cancel answered 200 must end its job
// `cancelled`; a job that finished first answers 409 and keeps its own end. Anything else (a job
// `succeeded` after a 200, `failed`, or still open 60 s later) is a lost cancel.
// Usage: node --conditions=development --import tsx bench/faults/cancel-race.ts [rounds] [maxDelayMs]
import { loadavg } from "node:os";
import { apiCaller, startServiceStack, until } from "../../test/helpers/service.js";

const rounds = Number(process.argv[2] ?? 20);
const maxDelayMs = Number(process.argv[3] ?? 1500);
const finished = ["succeeded", "failed", "cancelled"];

const stack = await startServiceStack({ bucket: "cancelrace", modelSources: "s3://src/" });
try {
  const call = apiCaller(
    () => stack.api.url,
    () => stack.apiKey,
  );
  const tally: Record<string, number> = {};
  const lost: unknown[] = [];
  const load: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Short and long runs: a short one often ends within a poll interval of its cancel.
    const maxNewTokens = [4, 16, 64, 300][round % 4]!;
    const spec = { kind: "evaluate", task: "generate", model: stack.baseId, prompts: ["Once"], maxNewTokens };
    const ids = await Promise.all(
      [0, 1, 2].map(async () => {
        const r = await call("POST", "/v1/jobs", spec);
        if (r.status !== 201) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body.id as string;
      }),
    );
    await new Promise((r) => setTimeout(r, Math.random() * maxDelayMs));
    const answers = await Promise.all(ids.map((id) => call("POST", `/v1/jobs/${id}/cancel`)));
    load.push(loadavg()[0]!);
    for (const [i, id] of ids.entries()) {
      const end = await until(
        `job ${id} to end`,
        async () => {
          const j = (await call("GET", `/v1/jobs/${id}`)).body;
          return finished.includes(j.state) ? j : null;
        },
        60_000,
        250,
      ).catch(async () => (await call("GET", `/v1/jobs/${id}`)).body);
      const key = `${answers[i]!.status} → ${end.state}`;
      tally[key] = (tally[key] ?? 0) + 1;
      const ok = answers[i]!.status === 200 ? end.state === "cancelled" : answers[i]!.status === 409;
      if (!ok) {
        const events = (await call("GET", `/v1/jobs/${id}/events`)).body.items;
        const story = events.map((e: { type: string; data: Record<string, unknown> }) =>
          e.type === "state" ? String(e.data.state) : e.type === "log" ? String(e.data.line) : e.type,
        );
        const worker = stack.workers.flatMap((w) => w.lines).filter((l) => l.jobId === id);
        const said = worker.map((l) => `${l.msg}${l.error ? `: ${l.error}` : ""}`);
        lost.push({ round, id, cancel: answers[i]!.status, state: end.state, story, worker: said });
      }
    }
    console.log(`round ${round + 1}/${rounds} (${maxNewTokens} tokens): ${JSON.stringify(tally)}`);
  }
  const mean = load.reduce((s, x) => s + x, 0) / load.length;
  console.log(JSON.stringify({ rounds, jobs: rounds * 3, tally, lost, load1: mean.toFixed(1) }, null, 1));
  process.exitCode = lost.length ? 1 : 0;
} finally {
  await stack.close();
}
