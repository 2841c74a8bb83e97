// The dashboard's playground in headless Chromium against a real stack (test/helpers/dashboard.ts): three
// versions (base, and the pruned and final versions of the form's pipeline, run through the REST API) generate
// side by side, streamed to completion, each column's greedy text equal to its job's output and to what
// `shortened generate` prints for the same version's files; Cancel all stops them, clicked while the
// submissions are in flight (their answers held) and once every column knows its job.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { screenshot } from "./helpers/browser.js";
import { jsonOf, runCli } from "./helpers/cli.js";
import { BUCKET, type Dashboard, nav, openDashboard } from "./helpers/dashboard.js";
import { cancelRequests, columnJob, holdSubmissions } from "./helpers/playground.js";
import { s3rverStore, until } from "./helpers/service.js";

describe("the web dashboard in Chromium: playground", { timeout: 1_200_000 }, () => {
  let d: Dashboard;
  before(async () => {
    d = await openDashboard({ pipeline: true });
  });
  after(() => d?.close());

  it("generates from three versions side by side in the playground, streamed to completion; cancel stops all", async () => {
    const label = async (id: string) => {
      const v = (await d.call("GET", `/v1/versions/${id}`)).body;
      return `${(await d.call("GET", `/v1/models/${v.modelId}`)).body.name}@${v.number}`;
    };
    const labels = [await label(d.baseId), await label(d.versions.pruned), await label(d.versions.final)];
    const { page } = d;
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
    const jobs = (await d.call("GET", "/v1/jobs?kind=evaluate&limit=3")).body.items;
    for (const j of jobs) {
      const l = await label(j.inputVersionId);
      const column = (await page.getByTestId(`column-${l}`).getByTestId("column-text").textContent()) ?? "";
      assert.equal(column, j.result.samples[0].outputs[0].text);
      // ... and what `shortened generate` prints for the same version, prompt and settings (greedy, 24 tokens).
      const version = await d.db.prisma.modelVersion.findUniqueOrThrow({ where: { id: j.inputVersionId } });
      const dir = join(d.stack.dir, `cli-${j.inputVersionId}`);
      const store = s3rverStore(d.stack.s3.endpoint, BUCKET);
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
});
