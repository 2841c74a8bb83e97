// Headless Chromium for the dashboard's end-to-end tests: Debian's /usr/bin/chromium driven by
// playwright-core, a fresh profile per browser, no network but loopback (the background-networking flags
// keep Chromium from calling home), a 1280×800 window.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axe from "axe-core";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** A new browser with its own empty profile (so its cookies are its own). */
export async function openBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), "shortened-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where the test run writes its screenshots (WEB_SCREENSHOTS, or a temp folder). */
export function screenshotDir(): string {
  const dir = process.env.WEB_SCREENSHOTS ?? join(tmpdir(), "shortened-web-screenshots");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** axe-core's WCAG 2.1 A/AA checks on the page as it is now; the violations, one line each. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  // Runs in the page (its window and document; this project's types have no DOM).
  const result = await page.evaluate(() => {
    const g = globalThis as unknown as { axe: typeof axe; document: Parameters<typeof axe.run>[0] };
    return g.axe.run(g.document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] });
  });
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}

/** Writes a screenshot of the page, after checking it for WCAG violations (none are allowed). */
export async function screenshot(page: Page, name: string): Promise<string> {
  const violations = await accessibilityViolations(page);
  if (violations.length) throw new Error(`${name}: accessibility violations:\n${violations.join("\n")}`);
  const path = join(screenshotDir(), `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
