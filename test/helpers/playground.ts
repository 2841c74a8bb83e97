// Driving the dashboard's playground in Chromium: which job a column shows, which cancels the page sends, and
// job submissions whose answers are held (the server has created the jobs; the page does not know them yet).
import type { Page } from "playwright-core";
import { until } from "./service.js";

/** The job id a playground column links to (none while its submission is in flight). */
export async function columnJob(p: Page, label: string): Promise<string | undefined> {
  const links = p.getByTestId(`column-${label}`).getByRole("link", { name: "job" });
  if ((await links.count()) === 0) return undefined;
  return (await links.getAttribute("href"))?.split("/").pop();
}

/** The job ids the page asks to cancel, as it sends the requests. */
export function cancelRequests(p: Page): string[] {
  const ids: string[] = [];
  p.on("request", (r) => {
    const m = /\/v1\/jobs\/([0-9a-f-]{36})\/cancel$/.exec(r.url());
    if (m && r.method() === "POST") ids.push(m[1]!);
  });
  return ids;
}

/**
 * Holds the answers to the page's job submissions: each request goes to the server (which creates the job),
 * and its answer reaches the page only on release().
 */
export async function holdSubmissions(p: Page) {
  const held: (() => Promise<void>)[] = [];
  const ids: string[] = [];
  const pattern = "**/v1/jobs";
  await p.route(pattern, async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    const response = await route.fetch();
    ids.push((await response.json()).id);
    held.push(() => route.fulfill({ response }));
  });
  return {
    /** the ids of the first n jobs created, once the server has answered n submissions */
    answered: (n: number) =>
      until(`${n} submissions answered by the server`, async () => ids.length >= n && ids.slice(0, n)),
    release: async () => {
      for (const f of held.splice(0)) await f();
      await p.unroute(pattern);
    },
  };
}
