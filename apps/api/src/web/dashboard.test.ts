// Every page the dashboard routes to is a path the API answers with index.html, so a reload or a shared link
// of any page opens it (the page list lives in both places: the API cannot import the app).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { DASHBOARD_PAGES } from "./dashboard.js";

test("the API serves index.html at every top-level page of the dashboard", () => {
  const app = readFileSync(new URL("../../../web/src/App.tsx", import.meta.url), "utf8");
  const routed = [...app.matchAll(/path === "(\/[a-z-]*)"|match\("(\/[a-z-]+)\//g)].map((m) => m[1] ?? m[2]);
  assert.ok(routed.includes("/playground") && routed.includes("/jobs"), routed.join(", "));
  for (const page of routed) assert.ok(DASHBOARD_PAGES.includes(page!), `${page} is not served`);
});
