// `shortened models ...`: the registry, embedded (default) or on a service (--server/--key).

import { UserError, type UserErrorCode } from "@shortened/contracts";
import type { Command } from "commander";
import { type ClientOptions, clientAction, withClient } from "./service-client.js";

type Opts = ClientOptions & { json?: boolean };

const versionLine = (v: Record<string, unknown>) =>
  `v${v.number} ${String(v.kind).padEnd(9)} ${v.id}${v.parentId ? `  parent ${v.parentId}` : ""}`;

export function register(program: Command): void {
  const models = program.command("models").description("register and browse models, versions and lineage");

  clientAction(
    models
      .command("register <name>")
      .description(
        "register a base checkpoint from a folder (--path), the Hugging Face Hub (--uri hf://org/name@revision) or, with --server, an s3:// URI",
      )
      .option("--path <dir>", "HF checkpoint folder")
      .option(
        "--uri <uri>",
        "hf://org/name@revision, or s3://bucket/prefix holding the checkpoint (--server)",
      )
      .option(
        "--token-secret <name>",
        "hf:// with --server: the team secret holding the Hub token (embedded mode reads $HF_TOKEN)",
      ),
    (o, name) =>
      withClient(o, (c) => {
        const x = o as Opts & { path?: string; uri?: string; tokenSecret?: string };
        if (Boolean(x.path) === Boolean(x.uri))
          throw new UserError("bad_request", "give exactly one of --path or --uri");
        return x.path ? c.registerFolder(name, x.path) : c.registerUri(name, x.uri!, x.tokenSecret);
      }),
    (r) => `model ${r.name} (${r.id}) ${versionLine(r.latestVersion as Record<string, unknown>)}`,
  );
  clientAction(
    models
      .command("push <versionId>")
      .description(
        "publish a version to the Hugging Face Hub (checkpoint + model card; the lineage in the commit)",
      )
      .requiredOption("--repo <org/name>", "the Hub repository (created private unless --public)")
      .option("--public", "create the repository public")
      .option(
        "--token-secret <name>",
        "with --server: the team secret holding a Hub write token (embedded: $HF_TOKEN)",
      ),
    (o, id) =>
      withClient(o, async (c) => {
        const x = o as Opts & { repo: string; public?: boolean; tokenSecret?: string };
        const job = await c.push(id, { repo: x.repo, private: !x.public, tokenSecret: x.tokenSecret });
        // A push refused by the Hub or the license is the user's to fix (exit 2 with the reason).
        if (job.state !== "succeeded" && job.errorCode !== "internal")
          throw new UserError(
            (job.errorCode ?? "bad_request") as UserErrorCode,
            `push job ${job.id} ${job.state}: ${job.reason}`,
          );
        if (job.state !== "succeeded") throw new Error(`push job ${job.id} ${job.state}: ${job.reason}`);
        return job;
      }),
    (job) => {
      const r = (job.result ?? {}) as Record<string, unknown>;
      return r.committed
        ? `pushed ${(r.files as string[]).length} files to ${r.repo} (${r.private ? "private" : "public"}): commit ${r.commit}`
        : `${r.repo} already holds these ${(r.files as string[]).length} files at commit ${r.commit}: nothing pushed`;
    },
  );
  clientAction(
    models
      .command("list")
      .description("models, newest first")
      .option("--q <text>", "search in names and descriptions"),
    (o) =>
      withClient(o, (c) => c.models((o as Opts & { q?: string }).q ? { q: (o as { q: string }).q } : {})),
    (r) => (r.items as Record<string, unknown>[]).map((m) => `${m.id}  ${m.name}`).join("\n") || "no models",
  );
  clientAction(
    models.command("get <idOrName>").description("a model and its versions"),
    (o, id) => withClient(o, (c) => c.model(id)),
    (r) =>
      [
        `${r.name} (${r.id})`,
        ...((r.versions as Record<string, unknown>[] | undefined) ?? []).map(versionLine),
      ].join("\n"),
  );
  clientAction(
    models.command("lineage <versionId>").description("ancestors and children of a version"),
    (o, id) => withClient(o, (c) => c.lineage(id)),
    (r) =>
      [
        `version ${versionLine(r.version as Record<string, unknown>)}`,
        ...(r.ancestors as Record<string, unknown>[]).map((v) => `  ancestor ${versionLine(v)}`),
        ...(r.children as Record<string, unknown>[]).map((v) => `  child    ${versionLine(v)}`),
      ].join("\n"),
  );
  clientAction(
    models.command("metrics <versionId>").description("metrics of a version with their protocols"),
    (o, id) => withClient(o, (c) => c.metrics(id)),
    (r) =>
      (r.items as { name: string; value: number; protocol: Record<string, unknown> }[])
        .map((m) => `${m.name.padEnd(16)} ${m.value.toFixed(4)}  ${JSON.stringify(m.protocol)}`)
        .join("\n"),
  );
}
