// `shortened serve`: the REST API (service mode). Configuration comes from the environment:
// DATABASE_URL, REDIS_URL, S3_ENDPOINT, S3_BUCKET, S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, PORT.
import { startApiServer } from "@shortened/api";
import type { Command } from "commander";
import { failAndExit } from "../output.js";

export function register(program: Command): void {
  program
    .command("serve")
    .description(
      "run the REST API (reads DATABASE_URL, REDIS_URL, S3_*, AWS_*, PORT; applies pending migrations)",
    )
    .option("--port <n>", "port (overrides PORT)")
    .option("--host <host>", "address to listen on", "0.0.0.0")
    .action(async (opts: { port?: string; host: string }) => {
      try {
        const env = { ...process.env, ...(opts.port ? { PORT: opts.port } : {}) };
        const server = await startApiServer(env, { host: opts.host });
        process.stderr.write(`shortened api listening on ${server.url}\n`);
        const stop = async () => {
          await server.close();
          process.exit(0);
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      } catch (e) {
        failAndExit(e);
      }
    });
}
