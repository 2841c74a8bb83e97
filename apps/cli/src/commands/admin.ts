// `shortened admin`: operator commands against DATABASE_URL (teams, keys, migrations).

import { createApiKey, createTeam, type OpenedDb, openPostgres } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import type { Command } from "commander";
import { runCommand } from "../output.js";

async function withDb<T>(
  work: (db: OpenedDb) => Promise<T>,
  migrate: "apply" | "check" = "apply",
): Promise<T> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new UserError("bad_request", "DATABASE_URL is not set");
  const db = await openPostgres(url, { migrate });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

export function register(program: Command): void {
  const admin = program.command("admin").description("operator commands (need DATABASE_URL)");
  admin
    .command("create-team <name>")
    .description('create a team and its first (admin) API key; --json prints {"teamId","apiKey"}')
    .option("--json", "print one JSON object")
    .action(async (name: string, opts: { json?: boolean }) => {
      await runCommand(
        opts,
        () => withDb((db) => createTeam(db.prisma, name)),
        (r) => `team ${r.teamId}\napi key (shown once): ${r.apiKey}`,
      );
      process.exit(0);
    });
  admin
    .command("create-key <teamId>")
    .description("create another API key for a team (shown once)")
    .option("--name <name>", "a label for the key", "default")
    .option("--role <role>", "admin | member", "admin")
    .option("--json", "print one JSON object")
    .action(async (teamId: string, opts: { json?: boolean; name: string; role: string }) => {
      await runCommand(
        opts,
        () =>
          withDb(async (db) => {
            if (opts.role !== "admin" && opts.role !== "member")
              throw new UserError("bad_request", "--role must be admin or member");
            const team = await db.prisma.team.findUnique({ where: { id: teamId } });
            if (!team) throw new UserError("not_found", `no team ${teamId}`);
            const { row, apiKey } = await createApiKey(db.prisma, teamId, opts.name, opts.role);
            return { teamId, keyId: row.id, apiKey };
          }),
        (r) => `api key (shown once): ${r.apiKey}`,
      );
      process.exit(0);
    });
  admin
    .command("migrate")
    .description("apply pending database migrations (--check: apply nothing, exit 2 while some are pending)")
    .option(
      "--check",
      "only check: exit 0 when the database is up to date (a Kubernetes init container waits on it)",
    )
    .option("--json", "print one JSON object")
    .action(async (opts: { json?: boolean; check?: boolean }) => {
      await runCommand(
        opts,
        () => withDb(async (db) => ({ applied: db.applied }), opts.check ? "check" : "apply"),
        (r) => (r.applied.length ? `applied ${r.applied.join(", ")}` : "database is up to date"),
      );
      process.exit(0);
    });
}
