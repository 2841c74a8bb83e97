// The dashboard's end-to-end rig, shared by the test/web-*.e2e.test.ts files (one per area of the UI): a real
// stack (PostgreSQL, Redis, s3rver, the API serving the built dashboard, a worker process), the demo model
// registered as "tiny", an admin, a member and another team's key, and a Chromium signed in as the admin.
// Each file opens its own, so each runs alone.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createApiKey, createTeam, type OpenedDb } from "@shortened/adapters";
import type { ApiServer } from "@shortened/api";
import type { JobSpecInput } from "@shortened/contracts";
import { registerFromFolder } from "@shortened/jobs";
import type { Page } from "playwright-core";
import { type Browser, openBrowser, screenshotDir } from "./browser.js";
import {
  apiCaller,
  repoRoot,
  type S3Server,
  type ServiceStack,
  s3rverStore,
  startServiceStack,
  until,
} from "./service.js";

export const BUCKET = "shortened-web";
const demoDir = join(repoRoot, "models", "tinystories-llama-8L");

/** Clicks a link of the main navigation. */
export const nav = (p: Page, name: string) =>
  p.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
// (A string: these files are type-checked without the DOM library.)
export const top = (p: Page) => p.evaluate("window.scrollTo(0, 0)");

/** Signs a page in through the sign-in form and waits for the jobs list. */
export async function signIn(p: Page, url: string, apiKey: string): Promise<void> {
  await p.goto(`${url}/sign-in`);
  await p.getByLabel("API key").fill(apiKey);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.getByRole("heading", { name: "Jobs" }).waitFor();
}

/** Waits for a job to end (through the API); its body. */
const jobWaiter =
  (call: ReturnType<typeof apiCaller>) =>
  (id: string, ms = 600_000) =>
    until(
      `job ${id} to finish`,
      async () => {
        const r = await call("GET", `/v1/jobs/${id}`);
        return ["succeeded", "failed", "cancelled"].includes(r.body.state) ? r.body : null;
      },
      ms,
      500,
    );

export interface Dashboard {
  stack: ServiceStack<S3Server>;
  api: ApiServer;
  db: OpenedDb;
  /** the admin's browser (signIn: false leaves it signed out) */
  browser: Browser;
  page: Page;
  keys: { admin: string; member: string; memberId: string; other: string };
  /** the demo model's version ("tiny") */
  baseId: string;
  /** the API with the admin's Bearer key */
  call: ReturnType<typeof apiCaller>;
  /** waits for a job to end; its body */
  waitJob: ReturnType<typeof jobWaiter>;
  /** with `pipeline`: the form's pipeline, run through the REST API (runPipeline) */
  versions: { pipeline: string; final: string; pruned: string };
  close(): Promise<void>;
}

/** The rig; `pipeline`: with the versions of the form's pipeline (for the areas that show them, not the form). */
export async function openDashboard(o: { signIn?: boolean; pipeline?: boolean } = {}): Promise<Dashboard> {
  if (!existsSync(join(repoRoot, "apps", "web", "dist", "index.html")))
    execFileSync("npm", ["run", "build", "-w", "@shortened/web"], { cwd: repoRoot, stdio: "ignore" });
  const stack = await startServiceStack({ bucket: BUCKET, env: { SSE_POLL_MS: "200" } });
  let browser: Browser | undefined;
  try {
    const { api, db, s3 } = stack;
    const m = await createApiKey(db.prisma, stack.teamId, "analyst", "member");
    const keys = {
      admin: stack.apiKey,
      member: m.apiKey,
      memberId: m.row.id,
      other: (await createTeam(db.prisma, `rival-${stack.prefix}`)).apiKey,
    };
    const reg = await registerFromFolder(db.prisma, s3rverStore(s3.endpoint, BUCKET), {
      teamId: stack.teamId,
      name: "tiny",
      dir: demoDir,
      sourceUri: "upload",
      description: "TinyStories LLaMA, 8 blocks",
      license: "MIT",
    });
    const call = apiCaller(
      () => api.url,
      () => keys.admin,
    );
    const waitJob = jobWaiter(call);
    browser = await openBrowser();
    const page = browser.page;
    page.setDefaultTimeout(20_000);
    if (o.signIn !== false) await signIn(page, api.url, keys.admin);
    const opened = browser;
    const d: Dashboard = {
      stack,
      api,
      db,
      browser,
      page,
      keys,
      baseId: reg.version.id,
      call,
      waitJob,
      versions: { pipeline: "", final: "", pruned: "" },
      async close() {
        await opened.close();
        await stack.close();
        console.log(`screenshots: ${screenshotDir()}`);
      },
    };
    if (o.pipeline) d.versions = await runPipeline(d);
    return d;
  } catch (e) {
    await browser?.close();
    await stack.close();
    throw e;
  }
}

/**
 * Waits on a job's page until its badge says succeeded (a failed or cancelled job throws, with its body);
 * the progress bar's values as they changed.
 */
export async function waitOnPage(d: Dashboard, what: string, id: string): Promise<number[]> {
  const bar = d.page.locator(".summary progress");
  const values: number[] = [];
  await until(
    `the ${what} to succeed on the page`,
    async () => {
      const v = await bar.getAttribute("value").catch(() => null);
      if (v !== null && Number(v) !== values.at(-1)) values.push(Number(v));
      const state =
        (await d.page
          .locator("h1 .badge")
          .textContent()
          .catch(() => null)) ?? "";
      if (state === "failed" || state === "cancelled")
        throw new Error(
          `the ${what} ${state}: ${JSON.stringify((await d.call("GET", `/v1/jobs/${id}`)).body)}`,
        );
      return state === "succeeded";
    },
    // A guard against a hang, not a speed goal: at load 40 on 2 cores the pipeline took 3 min.
    600_000,
    200,
  );
  return values;
}

/** The pipeline that test/web-jobs.e2e.test.ts submits from the form: importance, prune 2, LoRA, ppl. */
export const formPipeline = (model: string): JobSpecInput => ({
  kind: "pipeline",
  model,
  importance: {
    calibration: { dataset: "tinystories", n: 4, seqLen: 64 },
    keepFirst: 1,
    keepLast: 1,
  },
  prune: { count: 2 },
  retrain: { steps: 8, batch: 2, lr: 0.001, seqLen: 128 },
  evaluate: [{ dataset: "wikitext2", seqLen: 64, maxTokens: 2048 }],
});

/** Runs the form's pipeline through the REST API: the pipeline job, its final (retrained) version and the
 *  pruned version before it. */
async function runPipeline(d: Dashboard): Promise<Dashboard["versions"]> {
  const r = await d.call("POST", "/v1/jobs", formPipeline(d.baseId));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const job = await d.waitJob(r.body.id);
  assert.equal(job.state, "succeeded", JSON.stringify(job));
  const final = job.result.finalVersionId as string;
  const pruned = (await d.call("GET", `/v1/versions/${final}`)).body.parentId as string;
  return { pipeline: r.body.id, final, pruned };
}
