// The CLI as a process: usage errors exit 2 with one line in every command, --version, the bin passes
// SIGTERM to its tsx child and exits with its code, and `admin create-team` needs only the database.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "./helpers/cli.js";
import { createTestDatabase, repoRoot, startS3, until } from "./helpers/service.js";

const model = join(repoRoot, "models/tinystories-llama-8L");

// Every command's usage errors are checked in-process (apps/cli/src/usage-errors.test.ts); here, that the
// process really exits 2 with one line.
test("a usage error exits 2 with one line on stderr", () => {
  for (const args of [
    ["prune", "--model", model],
    ["eval", "ppl", "--model", model, "--nope"],
  ]) {
    const r = runCli(args, { timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: [^\n]*\n$/);
    assert.equal(r.stdout, "");
  }
});

test("--version prints the CLI's version", () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, "apps/cli/package.json"), "utf8"));
  const r = runCli(["--version"], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), version);
});

test("bin/shortened.js from the sources runs from a folder outside the repository (tsx found from the bin)", (t) => {
  const elsewhere = mkdtempSync(join(tmpdir(), "cli-elsewhere-"));
  t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [join(repoRoot, "apps/cli/bin/shortened.js"), "--version"], {
    cwd: elsewhere,
    env: { ...process.env, SHORTENED_FROM_SOURCE: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, "127.0.0.1", res));
  const { port } = s.address() as { port: number };
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

describe("processes", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  test("admin create-team works while S3 is unreachable", async () => {
    const deadS3 = `http://127.0.0.1:${await freePort()}`;
    const r = runCli(["admin", "create-team", "no-s3", "--json"], {
      env: {
        DATABASE_URL: db.url,
        S3_ENDPOINT: deadS3,
        S3_BUCKET: "nowhere",
        AWS_ACCESS_KEY_ID: "x",
        AWS_SECRET_ACCESS_KEY: "y",
      },
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out.apiKey, /^sk_/);
    assert.equal(typeof out.teamId, "string");
  });

  test("bin/shortened.js (from the sources) passes SIGTERM to its child and exits with its code", async () => {
    const s3 = await startS3();
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [join(repoRoot, "apps/cli/bin/shortened.js"), "serve", "--port", String(port), "--host", "127.0.0.1"],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          SHORTENED_FROM_SOURCE: "1",
          DATABASE_URL: db.url,
          REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
          S3_ENDPOINT: s3.endpoint,
          S3_BUCKET: "sigterm",
          AWS_ACCESS_KEY_ID: "S3RVER",
          AWS_SECRET_ACCESS_KEY: "S3RVER",
          LOG_LEVEL: "silent",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    try {
      const url = `http://127.0.0.1:${port}/healthz`;
      await until(
        "the API answers",
        async () => (await fetch(url).catch(() => null))?.ok || null,
        120_000,
      ).catch((e) => {
        throw new Error(`${(e as Error).message}: ${stderr}`);
      });
      child.kill("SIGTERM");
      assert.equal(await exited, 0, stderr);
      // The server (the tsx child) stopped with it.
      await assert.rejects(fetch(url));
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await s3.close();
    }
  });
});
