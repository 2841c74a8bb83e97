// What a playground column shows for one version: the text so far (streamed as progress events, then the
// job's result), the time to the first token and the speed, and why it waits when the queue is busy.
import { isProgress, type Job, type JobEvent, objectOf, resultOf } from "../lib/types.js";

export interface PlaygroundSettings {
  prompt: string;
  maxNewTokens: number;
  /** 0: greedy decoding; above: sampling at this temperature */
  temperature: number;
  seed: number;
}

/** The evaluate/generate job of one version: every column gets the same prompt, settings and seed. */
export function generateSpec(model: string, s: PlaygroundSettings) {
  return {
    kind: "evaluate" as const,
    task: "generate" as const,
    model,
    prompts: [s.prompt],
    maxNewTokens: s.maxNewTokens,
    seed: s.seed,
    ...(s.temperature > 0 ? { sample: true, temperature: s.temperature } : {}),
  };
}

export interface ColumnView {
  text: string;
  newTokens: number;
  ttftS: number | null;
  tokensPerS: number | null;
  /** what the column is waiting for, or why it stopped ("" while tokens flow or once done) */
  status: string;
}

export function columnView(job: Job | undefined, events: JobEvent[], now = Date.now()): ColumnView {
  const view: ColumnView = { text: "", newTokens: 0, ttftS: null, tokensPerS: null, status: "" };
  for (const e of events) {
    if (e.type !== "progress" || !isProgress(e.data) || e.data.text === undefined) continue;
    view.text = e.data.text;
    view.newTokens = e.data.step ?? view.newTokens;
    view.ttftS = e.data.ttftS ?? view.ttftS;
    view.tokensPerS = e.data.tokensPerS ?? view.tokensPerS;
  }
  if (!job) return { ...view, status: "submitting…" };
  if (job.state === "succeeded") {
    // The result is the whole text; the stream may have missed its last throttled update.
    const first = (xs: unknown) => objectOf(Array.isArray(xs) ? xs[0] : undefined);
    const r = resultOf(job);
    const output = first(first(r.samples).outputs);
    const timing = first(r.timing);
    if (typeof output.text === "string") view.text = output.text;
    if (typeof output.newTokens === "number") view.newTokens = output.newTokens;
    if (typeof timing.ttftS === "number") view.ttftS = timing.ttftS;
    if (typeof timing.tokensPerS === "number") view.tokensPerS = timing.tokensPerS;
    return view;
  }
  if (job.state === "failed" || job.state === "cancelled")
    return { ...view, status: `${job.state}${job.reason ? `: ${job.reason}` : ""}` };
  if (job.state === "queued") {
    const waited = (now - Date.parse(job.createdAt)) / 1000;
    return {
      ...view,
      status:
        waited > 3
          ? `queued for ${Math.round(waited)} s: every worker is busy; it starts when one is free`
          : "queued",
    };
  }
  return { ...view, status: view.text ? "" : "loading the model…" };
}
