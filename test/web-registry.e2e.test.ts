// The dashboard's registry, team admin and comparison in headless Chromium against a real stack
// (test/helpers/dashboard.ts): base and the final version of the form's pipeline (run through the REST API)
// measured the same way, a promotion rule saved on Team admin, the lineage, an alias moved past the rule, the
// comparison of base with final, and why base and pruned cannot be compared.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { screenshot } from "./helpers/browser.js";
import { type Dashboard, nav, openDashboard, top } from "./helpers/dashboard.js";

describe("the web dashboard in Chromium: registry and compare", { timeout: 1_200_000 }, () => {
  let d: Dashboard;
  before(async () => {
    d = await openDashboard({ pipeline: true });
  });
  after(() => d?.close());

  it("measures base and final the same way, for the comparison (through the REST API)", async () => {
    const submit = async (spec: Record<string, unknown>) => {
      const r = await d.call("POST", "/v1/jobs", spec);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const base = d.baseId;
    const jobs = [
      await submit({ kind: "evaluate", model: base, dataset: "wikitext2", seqLen: 64, maxTokens: 2048 }),
      await submit({ kind: "importance", model: base, criterion: "magnitude" }),
      await submit({
        kind: "importance",
        model: base,
        criterion: "ppl",
        calibration: { dataset: "tinystories", n: 8, seqLen: 64 },
        keepFirst: 1,
        keepLast: 1,
      }),
    ];
    for (const v of [base, d.versions.final])
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
    for (const id of jobs) assert.equal((await d.waitJob(id)).state, "succeeded", id);
  });

  it("shows the lineage and moves an alias past its promotion rule", async () => {
    const { page } = d;
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
    const finalNumber = (await d.call("GET", `/v1/versions/${d.versions.final}`)).body.number;
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
    const { page } = d;
    await page.goto(`${d.api.url}/compare?versions=${d.baseId},${d.versions.pruned}`);
    await page.getByRole("alert").filter({ hasText: "was not measured" }).waitFor();
    await page.goto(`${d.api.url}/compare?versions=${d.baseId},${d.versions.final}`);
    const table = page.getByTestId("comparison");
    await table.waitFor();
    assert.match((await table.textContent()) ?? "", /ppl_wikitext2/);
    await page.getByTestId("quality-speed").locator("svg").waitFor();
    await page.getByTestId("importance-overlay").locator("svg").waitFor();
    assert.match((await page.getByTestId("importance-overlay").textContent()) ?? "", /magnitude/);
    await screenshot(page, "compare");
  });
});
