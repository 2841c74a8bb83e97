// The dashboard's jobs pages in headless Chromium against a real stack (test/helpers/dashboard.ts): submit a
// pipeline from the form (after the validation error shows next to its field), watch it progress live to
// success with its training curve, importance chart and its steps' log, the jobs list; a study's children,
// progress that never steps back, its chart and cells.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { screenshot } from "./helpers/browser.js";
import { type Dashboard, nav, openDashboard, top, waitOnPage } from "./helpers/dashboard.js";

describe("the web dashboard in Chromium: jobs", { timeout: 1_200_000 }, () => {
  let d: Dashboard;
  let pipeline = "";
  before(async () => {
    d = await openDashboard();
  });
  after(() => d?.close());

  it("submits a pipeline from the form, with the validation error next to its field first", async () => {
    const { page } = d;
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
    pipeline = page.url().split("/").pop()!;
  });

  it("shows the pipeline progress live to success, with its training curve and importance chart", async () => {
    const { page } = d;
    const seen = await waitOnPage(d, "pipeline", pipeline);
    const values = new Set(seen.filter((v) => v > 0 && v < 1));
    assert.ok(values.size >= 2, `the progress bar moved while running: ${seen.join(", ")}`);
    await page.getByTestId("training-curve").locator("svg").waitFor();
    await page.getByTestId("importance-chart").locator("svg").waitFor();
    const importance = (await page.getByTestId("importance-chart").textContent()) ?? "";
    assert.match(importance, /removed/);
    assert.match(importance, /protected by the \+ rule/);
    const job = await d.waitJob(pipeline);
    assert.equal(job.state, "succeeded", JSON.stringify(job));
    assert.ok(job.result.finalVersionId);
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

  it("shows a study's children, progress that never steps back, its chart and its cells", async () => {
    const { page } = d;
    const r = await d.call("POST", "/v1/jobs", {
      kind: "study",
      model: d.baseId,
      criteria: ["magnitude", "reverse"],
      counts: [1, 2],
      keepFirst: 1,
      keepLast: 1,
      retrain: [{ method: "none" }],
      evaluate: [{ dataset: "tinystories", seqLen: 64, maxTokens: 1024 }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await page.goto(`${d.api.url}/jobs/${r.body.id}`);
    const values = await waitOnPage(d, "study", r.body.id);
    // phases add children (importance and dense evaluation, then prunes, then their evaluations): the bar
    // never moves back
    for (let i = 1; i < values.length; i++)
      assert.ok(values[i]! >= values[i - 1]!, `progress went back: ${values.join(", ")}`);
    const job = await d.waitJob(r.body.id);
    const n = (await d.call("GET", `/v1/jobs?parentJobId=${r.body.id}`)).body.items.length as number;
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
});
