// The dashboard end to end, in headless Chromium against a real stack (PostgreSQL, Redis, s3rver, the API
// serving the built dashboard, a worker process): sign in with an API key, submit a pipeline from the form
// (after the validation error shows next to its field), watch it progress live to success, its
// training curve and importance chart, the lineage, compare base with final, move an alias, team admin;
// a member sees no admin page, another team's key sees none of the first team's objects; revoking a key
// ends its session; writes without the CSRF token are refused. Each page is screenshotted.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createApiKey, createTeam, type OpenedDb } from "@shortened/adapters";
import type { ApiServer } from "@shortened/api";
import { registerFromFolder } from "@shortened/jobs";
import type { Page } from "playwright-core";
import { type Browser, openBrowser, screenshot, screenshotDir } from "./helpers/browser.js";
import { jsonOf, runCli } from "./helpers/cli.js";
import { cancelRequests, columnJob, holdSubmissions } from "./helpers/playground.js";
import {
  apiCaller,
  repoRoot,
  type S3Server,
  type ServiceStack,
  s3rverStore,
  startServiceStack,
  until,
} from "./helpers/service.js";

const BUCKET = "shortened-web";
const nav = (p: Page, name: string) =>
  p.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
// (A string: this file is type-checked without the DOM library.)
const top = (p: Page) => p.evaluate("window.scrollTo(0, 0)");
const demoDir = join(repoRoot, "models", "tinystories-llama-8L");

describe("the web dashboard in Chromium", { timeout: 1_200_000 }, () => {
  let stack: ServiceStack<S3Server>;
  let s3: S3Server;
  let api: ApiServer;
  let db: OpenedDb;
  let browser: Browser;
  let page: Page;
  const keys = { admin: "", member: "", memberId: "", other: "" };
  let key = "";
  const call = apiCaller(
    () => api.url,
    () => key,
  );
  const ids = { base: "", pipeline: "", final: "", pruned: "" };

  const waitJob = (id: string, ms = 600_000) =>
    until(
      `job ${id} to finish`,
      async () => {
        const r = await call("GET", `/v1/jobs/${id}`);
        return ["succeeded", "failed", "cancelled"].includes(r.body.state) ? r.body : null;
      },
      ms,
      500,
    );

  before(async () => {
    if (!existsSync(join(repoRoot, "apps", "web", "dist", "index.html")))
      execFileSync("npm", ["run", "build", "-w", "@shortened/web"], { cwd: repoRoot, stdio: "ignore" });
    stack = await startServiceStack({ bucket: BUCKET, env: { SSE_POLL_MS: "200" } });
    ({ s3, api, db } = stack);
    const a = { teamId: stack.teamId, apiKey: stack.apiKey };
    keys.admin = a.apiKey;
    const m = await createApiKey(db.prisma, a.teamId, "analyst", "member");
    keys.member = m.apiKey;
    keys.memberId = m.row.id;
    keys.other = (await createTeam(db.prisma, `rival-${stack.prefix}`)).apiKey;
    const reg = await registerFromFolder(db.prisma, s3rverStore(s3.endpoint, BUCKET), {
      teamId: a.teamId,
      name: "tiny",
      dir: demoDir,
      sourceUri: "upload",
      description: "TinyStories LLaMA, 8 blocks",
      license: "MIT",
    });
    ids.base = reg.version.id;
    key = keys.admin;
    browser = await openBrowser();
    page = browser.page;
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
    console.log(`screenshots: ${screenshotDir()}`);
  });

  it("serves the dashboard with long-lived caching of hashed assets, and nothing from another origin", async () => {
    const html = await fetch(`${api.url}/jobs`);
    assert.equal(html.status, 200);
    assert.equal(html.headers.get("cache-control"), "no-cache");
    assert.match(html.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const body = await html.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(body)?.[1];
    assert.ok(asset, body);
    assert.doesNotMatch(body, /https?:\/\//, "index.html loads nothing from another origin");
    const js = await fetch(api.url + asset, { headers: { "accept-encoding": "br, gzip" } });
    assert.equal(js.status, 200);
    assert.match(
      js.headers.get("cache-control") ?? "",
      /max-age=31536000.*immutable|immutable.*max-age=31536000/,
    );
    assert.equal(js.headers.get("content-encoding"), "br");
  });

  it("signs in with an API key into an HttpOnly, SameSite=Strict session cookie", async () => {
    await page.goto(`${api.url}/jobs`);
    await page.getByLabel("API key").waitFor();
    assert.match(page.url(), /\/sign-in\?next=%2Fjobs/);
    await page.getByLabel("API key").fill("sk_not-a-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "invalid or revoked API key" }).waitFor();
    await screenshot(page, "sign-in");
    await page.getByLabel("API key").fill(keys.admin);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    const [cookie] = await browser.context.cookies();
    assert.equal(cookie.name, "shortened_session");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.ok(!cookie.value.includes(keys.admin), "the cookie is not the key");
  });

  it("refuses a write made with the cookie but without the CSRF token; Bearer keys still work", async () => {
    const status = await page.evaluate(async () => {
      const r = await fetch("/v1/jobs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind: "evaluate", model: "tiny" }),
      });
      return r.status;
    });
    assert.equal(status, 403);
    assert.equal((await call("GET", "/v1/team")).status, 200);
  });

  it("submits a pipeline from the form, with the validation error next to its field first", async () => {
    await nav(page, "Submit");
    await page.getByRole("heading", { name: "Submit a job" }).waitFor();
    await page.locator('[name="model"]').fill("tiny");
    await page.getByRole("checkbox", { name: "importance" }).check();
    await page.locator('[name="importance.calibration.dataset"]').selectOption("tinystories");
    await page.locator('[name="importance.calibration.n"]').fill("4");
    await page.locator('[name="importance.calibration.seqLen"]').fill("64");
    await page.locator('[name="importance.keepFirst"]').fill("1");
    await page.locator('[name="importance.keepLast"]').fill("1");
    await page.locator('[name="prune.count"]').fill("0");
    await page.getByRole("checkbox", { name: "retrain" }).check();
    await page.locator('[name="retrain.steps"]').fill("8");
    await page.locator('[name="retrain.batch"]').fill("2");
    await page.locator('[name="retrain.lr"]').fill("0.001");
    await page.locator('[name="retrain.seqLen"]').fill("128");
    await page.getByRole("button", { name: "Add evaluate" }).click();
    await page.locator('[name="evaluate.0.dataset"]').selectOption("wikitext2");
    await page.locator('[name="evaluate.0.seqLen"]').fill("64");
    await page.locator('[name="evaluate.0.maxTokens"]').fill("2048");
    await page.getByRole("button", { name: "Submit pipeline" }).click();
    const fieldError = page.locator('[name="prune.count"] ~ .field-error');
    await fieldError.waitFor();
    assert.match((await fieldError.textContent()) ?? "", /1/);
    assert.equal(await page.locator('[name="prune.count"]').getAttribute("aria-invalid"), "true");
    await screenshot(page, "submit");
    await page.locator('[name="prune.count"]').fill("2");
    await page.getByRole("button", { name: "Submit pipeline" }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    ids.pipeline = page.url().split("/").pop()!;
  });

  it("shows the pipeline progress live to success, with its training curve and importance chart", async () => {
    const seen = new Set<string>();
    const bar = page.locator(".summary progress");
    await until(
      "the pipeline to succeed on the page",
      async () => {
        const v = await bar.getAttribute("value").catch(() => null);
        if (v) seen.add(v);
        const state =
          (await page
            .locator("h1 .badge")
            .textContent()
            .catch(() => null)) ?? "";
        if (state === "failed" || state === "cancelled")
          throw new Error(
            `the pipeline ${state}: ${JSON.stringify((await call("GET", `/v1/jobs/${ids.pipeline}`)).body)}`,
          );
        return state === "succeeded";
      },
      // A guard against a hang, not a speed goal: at load 40 on 2 cores this pipeline took 3 min.
      600_000,
      200,
    );
    const values = [...seen].map(Number).filter((v) => v > 0 && v < 1);
    assert.ok(values.length >= 2, `the progress bar moved while running: ${[...seen].join(", ")}`);
    await page.getByTestId("training-curve").locator("svg").waitFor();
    await page.getByTestId("importance-chart").locator("svg").waitFor();
    const importance = (await page.getByTestId("importance-chart").textContent()) ?? "";
    assert.match(importance, /removed/);
    assert.match(importance, /protected by the \+ rule/);
    const job = await waitJob(ids.pipeline);
    assert.equal(job.state, "succeeded", JSON.stringify(job));
    ids.final = job.result.finalVersionId;
    assert.ok(ids.final);
    // Its steps' events came through the pipeline's one stream: log lines of the retrain step are there.
    await page
      .locator(".log")
      .getByText(/lora step \d+\/8/)
      .first()
      .waitFor();
    await top(page);
    await screenshot(page, "job-detail");
    await page.getByRole("heading", { name: "Training curve" }).evaluate((h) => h.scrollIntoView());
    await screenshot(page, "job-charts");
    await nav(page, "Jobs");
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    await page.getByText("(step of a pipeline)").first().waitFor({ state: "attached" });
    await screenshot(page, "jobs");
  });

  it("measures base and final the same way, for the comparison (through the REST API)", async () => {
    const submit = async (spec: Record<string, unknown>) => {
      const r = await call("POST", "/v1/jobs", spec);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const jobs = [
      await submit({ kind: "evaluate", model: ids.base, dataset: "wikitext2", seqLen: 64, maxTokens: 2048 }),
      await submit({ kind: "importance", model: ids.base, criterion: "magnitude" }),
      await submit({
        kind: "importance",
        model: ids.base,
        criterion: "ppl",
        calibration: { dataset: "tinystories", n: 8, seqLen: 64 },
        keepFirst: 1,
        keepLast: 1,
      }),
    ];
    for (const v of [ids.base, ids.final])
      jobs.push(
        await submit({
          kind: "benchmark",
          model: v,
          batchSizes: [1],
          promptTokens: 8,
          genTokens: 8,
          repeats: 2,
        }),
      );
    for (const id of jobs) assert.equal((await waitJob(id)).state, "succeeded", id);
  });

  it("shows the lineage and moves an alias past its promotion rule", async () => {
    await nav(page, "Team admin");
    await page.getByRole("heading", { name: /Team admin/ }).waitFor();
    await page
      .getByLabel(/Rules \(JSON\)/)
      .fill('[{"type": "max_metric_increase", "metric": "ppl_wikitext2", "max": 100000, "against": "base"}]');
    await page.getByRole("button", { name: "Save rules" }).click();
    await page.getByText("Saved the rules of @prod.").waitFor();
    await top(page);
    await screenshot(page, "admin");

    await nav(page, "Registry");
    await page.getByRole("link", { name: "tiny" }).click();
    const graph = page.getByTestId("lineage-graph");
    await graph.waitFor().catch(async (e) => {
      await screenshot(page, "failed-lineage");
      throw e;
    });
    assert.equal(await graph.locator("rect.node").count(), 3);
    assert.match((await graph.textContent()) ?? "", /pruned: −blocks/);
    const finalNumber = (await call("GET", `/v1/versions/${ids.final}`)).body.number;
    await page.getByLabel("To version").selectOption(String(finalNumber));
    await page.getByRole("button", { name: "Move alias" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `@prod now points at @${finalNumber}` })
      .waitFor();
    await page
      .getByTestId("alias-prod")
      .getByRole("heading", { name: `@prod → @${finalNumber}` })
      .waitFor();
    assert.match((await page.getByRole("status").textContent()) ?? "", /passed/);
    await page.getByTestId("model-card").waitFor();
    await screenshot(page, "registry");
  });

  it("compares base with final, and says why base and pruned cannot be compared", async () => {
    const pruned = (await call("GET", `/v1/versions/${ids.final}`)).body.parentId;
    await page.goto(`${api.url}/compare?versions=${ids.base},${pruned}`);
    await page.getByRole("alert").filter({ hasText: "was not measured" }).waitFor();
    await page.goto(`${api.url}/compare?versions=${ids.base},${ids.final}`);
    const table = page.getByTestId("comparison");
    await table.waitFor();
    assert.match((await table.textContent()) ?? "", /ppl_wikitext2/);
    await page.getByTestId("quality-speed").locator("svg").waitFor();
    await page.getByTestId("importance-overlay").locator("svg").waitFor();
    assert.match((await page.getByTestId("importance-overlay").textContent()) ?? "", /magnitude/);
    await screenshot(page, "compare");
  });

  it("shows a study's children, progress that never steps back, its chart and its cells", async () => {
    const r = await call("POST", "/v1/jobs", {
      kind: "study",
      model: ids.base,
      criteria: ["magnitude", "reverse"],
      counts: [1, 2],
      keepFirst: 1,
      keepLast: 1,
      retrain: [{ method: "none" }],
      evaluate: [{ dataset: "tinystories", seqLen: 64, maxTokens: 1024 }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await page.goto(`${api.url}/jobs/${r.body.id}`);
    const bar = page.locator(".summary progress");
    const values: number[] = [];
    await until(
      "the study to succeed on the page",
      async () => {
        const v = await bar.getAttribute("value").catch(() => null);
        if (v !== null && Number(v) !== values.at(-1)) values.push(Number(v));
        const state =
          (await page
            .locator("h1 .badge")
            .textContent()
            .catch(() => null)) ?? "";
        if (state === "failed" || state === "cancelled")
          throw new Error(
            `the study ${state}: ${JSON.stringify((await call("GET", `/v1/jobs/${r.body.id}`)).body)}`,
          );
        return state === "succeeded";
      },
      600_000,
      200,
    );
    // phases add children (importance and dense evaluation, then prunes, then their evaluations): the bar
    // never moves back
    for (let i = 1; i < values.length; i++)
      assert.ok(values[i]! >= values[i - 1]!, `progress went back: ${values.join(", ")}`);
    const job = await waitJob(r.body.id);
    const n = (await call("GET", `/v1/jobs?parentJobId=${r.body.id}`)).body.items.length as number;
    await page.getByRole("heading", { name: `Children: ${n} of ${n} done` }).waitFor();
    await page.getByTestId("study-chart").locator("svg").waitFor();
    const rows = page.locator('section[aria-labelledby="study-title"] tbody tr');
    assert.equal(await rows.count(), job.result.cells.length);
    assert.equal(job.result.cells.length, 4);
    const text = (await page.locator('section[aria-labelledby="study-title"]').textContent()) ?? "";
    assert.match(text, /reverse/);
    assert.match(text, /magnitude/);
    await screenshot(page, "study");
  });

  it("generates from three versions side by side in the playground, streamed to completion; cancel stops all", async () => {
    const label = async (id: string) => {
      const v = (await call("GET", `/v1/versions/${id}`)).body;
      return `${(await call("GET", `/v1/models/${v.modelId}`)).body.name}@${v.number}`;
    };
    const pruned = (await call("GET", `/v1/versions/${ids.final}`)).body.parentId;
    const labels = [await label(ids.base), await label(pruned), await label(ids.final)];
    await nav(page, "Playground");
    await page.getByRole("heading", { name: "Playground" }).waitFor();
    await page.getByLabel("Prompt").fill("Once upon a time");
    await page.getByLabel("New tokens").fill("24");
    for (const l of labels) await page.getByRole("checkbox", { name: `${l} ` }).check();
    await page.getByRole("button", { name: "Generate" }).click();
    const state = (l: string) => page.getByTestId(`column-${l}`).getByTestId("column-state").textContent();
    for (const l of labels)
      await until(
        `${l} to finish in the playground`,
        async () => /succeeded/.test((await state(l)) ?? ""),
        300_000,
        500,
      );
    for (const l of labels) {
      assert.match((await state(l)) ?? "", /first token [\d.]+ ms · [\d.]+ tokens\/s · \d+ tokens/);
      const text = (await page.getByTestId(`column-${l}`).getByTestId("column-text").textContent()) ?? "";
      assert.ok(text.trim().length > 0, `${l} generated nothing`);
    }
    await screenshot(page, "playground");
    // Greedy text in a column is the version's generate job's own output.
    const jobs = (await call("GET", "/v1/jobs?kind=evaluate&limit=3")).body.items;
    for (const j of jobs) {
      const l = await label(j.inputVersionId);
      const column = (await page.getByTestId(`column-${l}`).getByTestId("column-text").textContent()) ?? "";
      assert.equal(column, j.result.samples[0].outputs[0].text);
      // ... and what `shortened generate` prints for the same version, prompt and settings (greedy, 24 tokens).
      const version = await db.prisma.modelVersion.findUniqueOrThrow({ where: { id: j.inputVersionId } });
      const dir = join(stack.dir, `cli-${j.inputVersionId}`);
      const store = s3rverStore(s3.endpoint, BUCKET);
      for (const o of await store.list(version.storagePrefix))
        await store.getToFile(o.key, join(dir, o.key.slice(version.storagePrefix.length)));
      const cli = jsonOf(
        runCli([
          "generate",
          "--model",
          dir,
          "--prompt",
          "Once upon a time",
          "--max-new-tokens",
          "24",
          "--json",
        ]),
      );
      assert.equal(column, cli.samples[0].text, `${l}: the playground and shortened generate agree`);
    }
    await page.getByLabel("New tokens").fill("500");
    const cancelled = (l: string) =>
      until(`${l} to be cancelled`, async () => /^cancelled/.test((await state(l)) ?? ""), 120_000, 250);
    // A long run, cancelled while its submissions are in flight: the server has created the jobs and their
    // answers are held, so no job id is known to the page when "Cancel all" is clicked. The jobs created
    // are the ones cancelled (before the fix, the click went to the last run's finished jobs).
    const cancels = cancelRequests(page);
    const held = await holdSubmissions(page);
    await page.getByRole("button", { name: "Generate" }).click();
    const created = await held.answered(labels.length);
    for (const l of labels) assert.equal(await state(l), "submitting");
    await page.getByRole("button", { name: "Cancel all" }).click();
    for (const l of labels) await page.getByTestId(`column-${l}`).getByText("cancel asked").waitFor();
    await held.release();
    for (const l of labels) await cancelled(l);
    assert.deepEqual(cancels.sort(), [...created].sort(), "each job created was asked to cancel, once");
    // A long run cancelled once every column knows its job (its link) and the job is queued or running.
    cancels.length = 0;
    const before = new Set(created);
    await page.getByRole("button", { name: "Generate" }).click();
    const known = new Map<string, string>();
    for (const l of labels)
      await until(`${l}'s new job to be queued or running`, async () => {
        const id = (await columnJob(page, l)) ?? "";
        if (before.has(id) || !/^(queued|running)/.test((await state(l)) ?? "")) return false;
        return known.set(l, id);
      });
    await page.getByRole("button", { name: "Cancel all" }).click();
    for (const l of labels) await cancelled(l);
    assert.deepEqual(cancels.sort(), [...known.values()].sort());
  });

  it("shows a member no admin page, and ends the member's session when the key is revoked", async () => {
    const member = await openBrowser();
    try {
      const p = member.page;
      await p.goto(`${api.url}/sign-in`);
      await p.getByLabel("API key").fill(keys.member);
      await p.getByRole("button", { name: "Sign in" }).click();
      await p.getByRole("heading", { name: "Jobs" }).waitFor();
      assert.equal(await p.getByRole("link", { name: "Team admin" }).count(), 0);
      await p.goto(`${api.url}/admin`);
      await p.getByText("Team admin needs an admin key").waitFor();
      assert.equal(await p.evaluate(async () => (await fetch("/v1/audit")).status), 403);
      assert.equal((await call("DELETE", `/v1/keys/${keys.memberId}`)).status, 200);
      assert.equal(await p.evaluate(async () => (await fetch("/v1/jobs")).status), 401);
      await nav(p, "Registry");
      await p.getByLabel("API key").waitFor();
    } finally {
      await member.close();
    }
  });

  it("shows another team's key none of the first team's objects", async () => {
    const other = await openBrowser();
    try {
      const p = other.page;
      await p.goto(`${api.url}/sign-in`);
      await p.getByLabel("API key").fill(keys.other);
      await p.getByRole("button", { name: "Sign in" }).click();
      await p.getByRole("heading", { name: "Jobs" }).waitFor();
      await p.getByText("No jobs match.").waitFor();
      await p.goto(`${api.url}/jobs/${ids.pipeline}`);
      await p.getByRole("alert").filter({ hasText: "not_found" }).waitFor();
      await p.goto(`${api.url}/registry`);
      await p.getByRole("heading", { name: "Registry" }).waitFor();
      await p.getByText("No models yet").waitFor();
      assert.equal(await p.getByRole("link", { name: "tiny" }).count(), 0);
      assert.equal(
        await p.evaluate(async (id) => (await fetch(`/v1/jobs/${id}/stream`)).status, ids.pipeline),
        404,
      );
      // The playground offers none of the first team's versions, and the API refuses them by id.
      await p.goto(`${api.url}/playground`);
      await p.getByText("No versions yet").waitFor();
      assert.equal(await p.getByRole("checkbox").count(), 0);
      const refused = await p.evaluate(async (id) => {
        const { csrfToken } = (await (await fetch("/session")).json()) as { csrfToken: string };
        const body = { kind: "evaluate", task: "generate", model: id, prompts: ["Once"] };
        const headers = { "content-type": "application/json", "x-csrf-token": csrfToken };
        return (await fetch("/v1/jobs", { method: "POST", headers, body: JSON.stringify(body) })).status;
      }, ids.base);
      assert.equal(refused, 404);
    } finally {
      await other.close();
    }
  });

  it("signs out: the session ends on the server", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    assert.equal(await page.evaluate(async () => (await fetch("/session")).status), 401);
  });
});
