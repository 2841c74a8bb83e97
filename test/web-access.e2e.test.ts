// The dashboard's access in headless Chromium against a real stack (test/helpers/dashboard.ts): the built
// dashboard served with long-lived caching of hashed assets and nothing from another origin, signing in with an
// API key into an HttpOnly, SameSite=Strict session cookie, writes without the CSRF token refused, a member sees
// no admin page and loses its session when its key is revoked, another team's key sees none of the first team's
// objects, sign-out ends the session on the server.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openBrowser, screenshot } from "./helpers/browser.js";
import { type Dashboard, nav, openDashboard, signIn } from "./helpers/dashboard.js";

describe("the web dashboard in Chromium: access", { timeout: 300_000 }, () => {
  let d: Dashboard;
  before(async () => {
    d = await openDashboard({ signIn: false });
  });
  after(() => d?.close());

  it("serves the dashboard with long-lived caching of hashed assets, and nothing from another origin", async () => {
    const html = await fetch(`${d.api.url}/jobs`);
    assert.equal(html.status, 200);
    assert.equal(html.headers.get("cache-control"), "no-cache");
    assert.match(html.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const body = await html.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(body)?.[1];
    assert.ok(asset, body);
    assert.doesNotMatch(body, /https?:\/\//, "index.html loads nothing from another origin");
    const js = await fetch(d.api.url + asset, { headers: { "accept-encoding": "br, gzip" } });
    assert.equal(js.status, 200);
    assert.match(
      js.headers.get("cache-control") ?? "",
      /max-age=31536000.*immutable|immutable.*max-age=31536000/,
    );
    assert.equal(js.headers.get("content-encoding"), "br");
  });

  it("signs in with an API key into an HttpOnly, SameSite=Strict session cookie", async () => {
    const { page, keys } = d;
    await page.goto(`${d.api.url}/jobs`);
    await page.getByLabel("API key").waitFor();
    assert.match(page.url(), /\/sign-in\?next=%2Fjobs/);
    await page.getByLabel("API key").fill("sk_not-a-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "invalid or revoked API key" }).waitFor();
    await screenshot(page, "sign-in");
    await page.getByLabel("API key").fill(keys.admin);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    const [cookie] = await d.browser.context.cookies();
    assert.equal(cookie.name, "shortened_session");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.ok(!cookie.value.includes(keys.admin), "the cookie is not the key");
  });

  it("refuses a write made with the cookie but without the CSRF token; Bearer keys still work", async () => {
    const status = await d.page.evaluate(async () => {
      const r = await fetch("/v1/jobs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind: "evaluate", model: "tiny" }),
      });
      return r.status;
    });
    assert.equal(status, 403);
    assert.equal((await d.call("GET", "/v1/team")).status, 200);
  });

  it("shows a member no admin page, and ends the member's session when the key is revoked", async () => {
    const member = await openBrowser();
    try {
      const p = member.page;
      await signIn(p, d.api.url, d.keys.member);
      assert.equal(await p.getByRole("link", { name: "Team admin" }).count(), 0);
      await p.goto(`${d.api.url}/admin`);
      await p.getByText("Team admin needs an admin key").waitFor();
      assert.equal(await p.evaluate(async () => (await fetch("/v1/audit")).status), 403);
      assert.equal((await d.call("DELETE", `/v1/keys/${d.keys.memberId}`)).status, 200);
      assert.equal(await p.evaluate(async () => (await fetch("/v1/jobs")).status), 401);
      await nav(p, "Registry");
      await p.getByLabel("API key").waitFor();
    } finally {
      await member.close();
    }
  });

  it("shows another team's key none of the first team's objects", async () => {
    // one job of the first team (it need not finish)
    const job = await d.call("POST", "/v1/jobs", { kind: "evaluate", model: d.baseId, maxTokens: 256 });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    const jobId = job.body.id as string;
    const other = await openBrowser();
    try {
      const p = other.page;
      await signIn(p, d.api.url, d.keys.other);
      await p.getByText("No jobs match.").waitFor();
      await p.goto(`${d.api.url}/jobs/${jobId}`);
      await p.getByRole("alert").filter({ hasText: "not_found" }).waitFor();
      await p.goto(`${d.api.url}/registry`);
      await p.getByRole("heading", { name: "Registry" }).waitFor();
      await p.getByText("No models yet").waitFor();
      assert.equal(await p.getByRole("link", { name: "tiny" }).count(), 0);
      assert.equal(await p.evaluate(async (id) => (await fetch(`/v1/jobs/${id}/stream`)).status, jobId), 404);
      // The playground offers none of the first team's versions, and the API refuses them by id.
      await p.goto(`${d.api.url}/playground`);
      await p.getByText("No versions yet").waitFor();
      assert.equal(await p.getByRole("checkbox").count(), 0);
      const refused = await p.evaluate(async (id) => {
        const { csrfToken } = (await (await fetch("/session")).json()) as { csrfToken: string };
        const body = { kind: "evaluate", task: "generate", model: id, prompts: ["Once"] };
        const headers = { "content-type": "application/json", "x-csrf-token": csrfToken };
        return (await fetch("/v1/jobs", { method: "POST", headers, body: JSON.stringify(body) })).status;
      }, d.baseId);
      assert.equal(refused, 404);
    } finally {
      await other.close();
    }
    await d.waitJob(jobId);
  });

  it("signs out: the session ends on the server", async () => {
    await d.page.getByRole("button", { name: "Sign out" }).click();
    await d.page.getByLabel("API key").waitFor();
    assert.equal(await d.page.evaluate(async () => (await fetch("/session")).status), 401);
  });
});
