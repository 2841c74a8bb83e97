import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify from "fastify";
import { installErrorHandling } from "./errors.js";

test("a database too busy to answer is 503 busy with Retry-After; an unknown failure stays a bare 500", async (t) => {
  const app = Fastify({ logger: false });
  installErrorHandling(app);
  app.get("/busy", async () => {
    throw Object.assign(
      new Error("Transaction API error: Unable to start a transaction in the given time."),
      {
        code: "P2028",
      },
    );
  });
  app.get("/boom", async () => {
    throw new Error("secret internals at 10.0.0.7");
  });
  t.after(() => app.close());
  const busy = await app.inject({ method: "GET", url: "/busy" });
  assert.equal(busy.statusCode, 503);
  assert.equal(busy.headers["retry-after"], "2");
  assert.deepEqual(busy.json(), { error: { code: "busy", message: "the registry is busy; retry later" } });
  const boom = await app.inject({ method: "GET", url: "/boom" });
  assert.equal(boom.statusCode, 500);
  assert.deepEqual(boom.json(), { error: { code: "internal", message: "internal error" } });
});
