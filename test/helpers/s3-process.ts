// An s3rver in a child process on a fixed loopback port with its own folder, that a test can kill -9 (an
// S3 outage: in-flight requests are cut, new ones are refused) and start again on the same port and data.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./service.js";

const SERVER = `
const S3rver = require("s3rver");
const [port, directory] = process.argv.slice(1);
new S3rver({ port: Number(port), address: "127.0.0.1", silent: true, directory })
  .run()
  .then(() => console.log("s3 ready"), (e) => { console.error(e.message); process.exit(1); });
`;

export interface KillableS3 {
  endpoint: string;
  /** kill -9 of the server: its connections drop, nothing answers until start(). */
  kill(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startKillableS3(): Promise<KillableS3> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-killable-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  let child: ChildProcess | null = null;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, ["-e", SERVER, String(port), directory], {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = c;
      let err = "";
      c.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
      });
      c.stdout!.on("data", (d: Buffer) => {
        if (d.toString().includes("s3 ready")) resolve();
      });
      c.once("exit", (code) => reject(new Error(`s3rver exited ${code}: ${err}`)));
    });
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((res) => {
      c.once("exit", () => res());
      c.kill("SIGKILL");
    });
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    kill,
    start,
    async close() {
      await kill();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
