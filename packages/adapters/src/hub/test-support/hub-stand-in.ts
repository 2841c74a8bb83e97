// A loopback stand-in of the Hugging Face Hub with the endpoints @huggingface/hub calls (read from its
// sources: model info at a revision, the tree listing, resolve with its redirect and ETag / X-Linked-* /
// X-Repo-Commit headers, LFS sizes and sha256, repo creation, preupload, the LFS batch API and the commit
// endpoint), plus switches for what a real Hub or mirror does to a client: moving a branch, serving other
// bytes under a listed name, dropping a download half-way, refusing a token (401), gating a repo (403).
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandInRepo {
  commits: Map<string, Map<string, Buffer>>;
  branches: Map<string, string>;
  private: boolean;
  /** Tokens that accepted the gate (a gated repo refuses every other token with 403). */
  gatedFor?: Set<string>;
  /** The model card's license (answered as cardData.license). */
  license?: string;
  /** Commit messages, newest last (pushes). */
  log: { commit: string; summary: string; description?: string }[];
}

export interface StandInRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
}

export const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
export const gitOid = (b: Buffer): string =>
  createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const newCommit = (): string => randomBytes(20).toString("hex");

/** Files at or above this size are stored as LFS objects (the Hub's rule is by extension and size). */
const LFS_MIN = 1024;
const isLfs = (path: string, b: Buffer) => path.endsWith(".safetensors") || b.length >= LFS_MIN;

export class HubStandIn {
  readonly repos = new Map<string, StandInRepo>();
  readonly requests: StandInRequest[] = [];
  /** Tokens the stand-in knows (anything else is 401). */
  readonly tokens = new Set<string>();
  /** Paths whose next download is cut after this many bytes (the connection is dropped). */
  readonly truncateOnce = new Map<string, number>();
  /** Bytes served for a path instead of the committed ones, the listing unchanged (a mirror gone wrong). */
  readonly serveInstead = new Map<string, Buffer>();
  /** Called before each answer (e.g. to move a branch between two calls). */
  onRequest?: (r: StandInRequest) => void;
  /** X-Repo-Commit answered instead of the real commit (a mirror that moved under a pinned request). */
  reportCommit?: string;
  /** The next commit lands, but its answer is lost (the connection drops): what a retried push meets. */
  dropCommitAnswerOnce = false;
  private readonly lfsObjects = new Map<string, Buffer>();
  private readonly lfsPaths = new Map<string, string>();
  private server?: Server;
  url = "";

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) json(res, 500, { error: String(e) });
        else res.destroy();
        if (process.env.HUB_STAND_IN_DEBUG) console.error(e);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** Adds a repo with one commit on main; answers the commit. */
  addRepo(
    repo: string,
    files: Record<string, Buffer | string>,
    o: { private?: boolean; gatedFor?: string[]; license?: string } = {},
  ) {
    const commit = newCommit();
    this.repos.set(repo, {
      commits: new Map([[commit, toFiles(files)]]),
      branches: new Map([["main", commit]]),
      private: o.private ?? false,
      gatedFor: o.gatedFor ? new Set(o.gatedFor) : undefined,
      license: o.license,
      log: [{ commit, summary: "initial commit" }],
    });
    return commit;
  }

  /** A new commit on `branch` with these files changed (null removes one); answers the commit. */
  commitFiles(repo: string, files: Record<string, Buffer | string | null>, branch = "main"): string {
    const r = this.repo(repo);
    const base = new Map(r.commits.get(r.branches.get(branch)!)!);
    for (const [p, b] of Object.entries(files)) {
      if (b === null) base.delete(p);
      else base.set(p, typeof b === "string" ? Buffer.from(b) : b);
    }
    const commit = newCommit();
    r.commits.set(commit, base);
    r.branches.set(branch, commit);
    return commit;
  }

  repo(name: string): StandInRepo {
    const r = this.repos.get(name);
    if (!r) throw new Error(`no repo ${name} in the stand-in`);
    return r;
  }

  filesAt(repo: string, revision = "main"): Map<string, Buffer> {
    const r = this.repo(repo);
    return r.commits.get(r.branches.get(revision) ?? revision)!;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const r: StandInRequest = {
      method: req.method ?? "GET",
      path: decodeURIComponent(url.pathname),
      range: req.headers.range,
      authorization: req.headers.authorization,
    };
    this.requests.push(r);
    this.onRequest?.(r);
    const p = url.pathname;
    const d = decodeURIComponent;
    type Route = [string, RegExp, (m: RegExpExecArray) => unknown];
    const routes: Route[] = [
      ["GET", /^\/lfs-objects\/([0-9a-f]{64})$/, (m) => this.serveLfs(req, res, m[1])],
      ["PUT", /^\/uploads\/([0-9a-f]{64})$/, (m) => this.receiveLfs(req, res, m[1])],
      ["GET", /^\/api\/whoami-v2$/, () => this.whoami(req, res)],
      ["POST", /^\/api\/repos\/create$/, () => this.createRepo(req, res)],
      [
        "GET",
        /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/,
        (m) => this.modelInfo(req, res, m[1], d(m[2])),
      ],
      [
        "GET",
        /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/,
        (m) => this.tree(req, res, m[1], d(m[2]), m[3] ?? ""),
      ],
      ["POST", /^\/api\/models\/([^/]+\/[^/]+)\/preupload\/(.+)$/, (m) => this.preupload(req, res, m[1])],
      ["POST", /^\/api\/models\/([^/]+\/[^/]+)\/commit\/(.+)$/, (m) => this.commit(req, res, m[1], d(m[2]))],
      ["POST", /^\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/, () => this.lfsBatch(req, res)],
      [
        "GET",
        /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/,
        (m) => this.resolve(req, res, m[1], d(m[2]), d(m[3])),
      ],
    ];
    for (const [method, re, run] of routes) {
      const m = re.exec(p);
      if (m && method === r.method) {
        await run(m);
        return;
      }
    }
    json(res, 404, { error: `no route ${p}` });
  }

  private async receiveLfs(req: IncomingMessage, res: ServerResponse, oid: string) {
    const body = await readBody(req);
    if (sha256(body) !== oid) return json(res, 400, { error: "sha256 mismatch" });
    this.lfsObjects.set(oid, body);
    res.writeHead(200).end();
  }

  private whoami(req: IncomingMessage, res: ServerResponse) {
    if (this.auth(req) !== "ok")
      return json(res, 401, { error: "Invalid credentials in Authorization header" });
    json(res, 200, { type: "user", name: "stand-in", auth: { accessToken: { role: "write" } } });
  }

  private auth(req: IncomingMessage): "none" | "ok" | "bad" {
    const a = req.headers.authorization;
    if (!a) return "none";
    const t = a.replace(/^Bearer /, "");
    return this.tokens.has(t) ? "ok" : "bad";
  }

  /** The repo if the caller may read it, or an answer already sent. */
  private access(req: IncomingMessage, res: ServerResponse, name: string): StandInRepo | null {
    const repo = this.repos.get(name);
    const who = this.auth(req);
    if (who === "bad") {
      json(res, 401, { error: "Invalid credentials in Authorization header" });
      return null;
    }
    if (!repo || (repo.private && who !== "ok")) {
      // The Hub answers 401 with RepoNotFound for a private repo without a token, as for a missing one.
      res.setHeader("X-Error-Code", "RepoNotFound");
      json(res, who === "ok" ? 404 : 401, { error: "Repository not found" });
      return null;
    }
    if (repo.gatedFor) {
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      if (!repo.gatedFor.has(token)) {
        res.setHeader("X-Error-Code", "GatedRepo");
        json(res, who === "ok" ? 403 : 401, {
          error: `Access to model ${name} is restricted. You must have access to it and be authenticated to access it.`,
        });
        return null;
      }
    }
    return repo;
  }

  private commitOf(repo: StandInRepo, revision: string): string | undefined {
    const c = repo.branches.get(revision) ?? (repo.commits.has(revision) ? revision : undefined);
    return c;
  }

  private modelInfo(req: IncomingMessage, res: ServerResponse, name: string, revision: string) {
    const repo = this.access(req, res, name);
    if (!repo) return;
    const commit = this.commitOf(repo, revision);
    if (!commit) {
      res.setHeader("X-Error-Code", "RevisionNotFound");
      return json(res, 404, { error: `Invalid rev id: ${revision}` });
    }
    json(res, 200, {
      _id: createHash("md5").update(name).digest("hex").slice(0, 24),
      id: name,
      sha: commit,
      private: repo.private,
      gated: repo.gatedFor ? "manual" : false,
      downloads: 0,
      likes: 0,
      lastModified: new Date().toISOString(),
      ...(repo.license ? { cardData: { license: repo.license } } : {}),
      siblings: [...repo.commits.get(commit)!.keys()].map((rfilename) => ({ rfilename })),
    });
  }

  private tree(req: IncomingMessage, res: ServerResponse, name: string, revision: string, path: string) {
    const repo = this.access(req, res, name);
    if (!repo) return;
    const commit = this.commitOf(repo, revision);
    if (!commit) return json(res, 404, { error: `Invalid rev id: ${revision}` });
    const entries = [...repo.commits.get(commit)!.entries()]
      .filter(([p]) => !path || p.startsWith(`${path}/`))
      .map(([p, b]) => ({
        type: "file",
        path: p,
        oid: isLfs(p, b) ? gitOid(Buffer.from(lfsPointer(b))) : gitOid(b),
        size: isLfs(p, b) ? Buffer.byteLength(lfsPointer(b)) : b.length,
        ...(isLfs(p, b)
          ? { lfs: { oid: sha256(b), size: b.length, pointerSize: Buffer.byteLength(lfsPointer(b)) } }
          : {}),
      }));
    res.setHeader("X-Repo-Commit", commit);
    json(res, 200, entries);
  }

  private resolve(req: IncomingMessage, res: ServerResponse, name: string, revision: string, path: string) {
    const repo = this.access(req, res, name);
    if (!repo) return;
    const commit = this.commitOf(repo, revision);
    if (!commit) return json(res, 404, { error: `Invalid rev id: ${revision}` });
    const committed = repo.commits.get(commit)!.get(path);
    if (!committed) {
      res.setHeader("X-Error-Code", "EntryNotFound");
      return json(res, 404, { error: "Entry not found" });
    }
    const served = this.serveInstead.get(path) ?? committed;
    res.setHeader("X-Repo-Commit", this.reportCommit ?? commit);
    if (isLfs(path, committed)) {
      const oid = sha256(served);
      this.lfsObjects.set(oid, served);
      this.lfsPaths.set(oid, path);
      res.setHeader("X-Linked-Etag", `"${oid}"`);
      res.setHeader("X-Linked-Size", String(served.length));
      res.setHeader("ETag", `"${gitOid(Buffer.from(lfsPointer(committed)))}"`);
      res.setHeader("Location", `/lfs-objects/${oid}`);
      res.writeHead(302).end();
      return;
    }
    res.setHeader("ETag", `"${gitOid(served)}"`);
    this.sendBytes(req, res, served, path);
  }

  private serveLfs(req: IncomingMessage, res: ServerResponse, oid: string) {
    const b = this.lfsObjects.get(oid);
    if (!b) return json(res, 404, { error: "no such object" });
    res.setHeader("ETag", `"${oid}"`);
    this.sendBytes(req, res, b, this.lfsPaths.get(oid));
  }

  private sendBytes(req: IncomingMessage, res: ServerResponse, b: Buffer, path?: string) {
    let start = 0;
    let end = b.length - 1;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), b.length - 1) : b.length - 1;
      res.setHeader("Content-Range", `bytes ${start}-${end}/${b.length}`);
    }
    res.setHeader("Accept-Ranges", "bytes");
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Length", String(end - start + 1));
    res.writeHead(m ? 206 : 200);
    const cut = path !== undefined && end - start + 1 > 1 ? this.truncateOnce.get(path) : undefined;
    if (cut !== undefined) {
      this.truncateOnce.delete(path!);
      res.write(b.subarray(start, start + cut), () => res.destroy());
      return;
    }
    res.end(b.subarray(start, end + 1));
  }

  // ---- writing: what uploadFiles/commit and createRepo call

  private async createRepo(req: IncomingMessage, res: ServerResponse) {
    if (this.auth(req) !== "ok")
      return json(res, 401, { error: "Invalid credentials in Authorization header" });
    const body = JSON.parse((await readBody(req)).toString()) as {
      name: string;
      organization?: string;
      private?: boolean;
      visibility?: string;
    };
    const name = body.organization ? `${body.organization}/${body.name}` : body.name;
    if (this.repos.has(name))
      return json(res, 409, { error: "You already created this model repo", url: `${this.url}/${name}` });
    const commit = newCommit();
    this.repos.set(name, {
      commits: new Map([
        [
          commit,
          new Map([[".gitattributes", Buffer.from("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")]]),
        ],
      ]),
      branches: new Map([["main", commit]]),
      private: body.private ?? body.visibility === "private",
      log: [{ commit, summary: "initial commit" }],
    });
    json(res, 200, { url: `${this.url}/${name}`, name });
  }

  private async preupload(req: IncomingMessage, res: ServerResponse, name: string) {
    if (this.auth(req) !== "ok")
      return json(res, 401, { error: "Invalid credentials in Authorization header" });
    if (!this.repos.has(name)) return json(res, 404, { error: "Repository not found" });
    const body = JSON.parse((await readBody(req)).toString()) as { files: { path: string; size: number }[] };
    json(res, 200, {
      files: body.files.map((f) => ({
        path: f.path,
        uploadMode:
          f.path.endsWith(".safetensors") || f.path.endsWith(".onnx_data") || f.size >= LFS_MIN
            ? "lfs"
            : "regular",
        shouldIgnore: false,
      })),
      commitOid: this.repo(name).branches.get("main"),
    });
  }

  private async lfsBatch(req: IncomingMessage, res: ServerResponse) {
    if (this.auth(req) !== "ok") return json(res, 401, { message: "Invalid credentials" });
    const body = JSON.parse((await readBody(req)).toString()) as { objects: { oid: string; size: number }[] };
    res.setHeader("Content-Type", "application/vnd.git-lfs+json");
    res.writeHead(200).end(
      JSON.stringify({
        transfer: "basic",
        objects: body.objects.map((o) =>
          this.lfsObjects.has(o.oid)
            ? { oid: o.oid, size: o.size }
            : {
                oid: o.oid,
                size: o.size,
                authenticated: true,
                actions: { upload: { href: `${this.url}/uploads/${o.oid}` } },
              },
        ),
      }),
    );
  }

  private async commit(req: IncomingMessage, res: ServerResponse, name: string, revision: string) {
    if (this.auth(req) !== "ok")
      return json(res, 401, { error: "Invalid credentials in Authorization header" });
    const repo = this.repos.get(name);
    if (!repo) return json(res, 404, { error: "Repository not found" });
    const lines = (await readBody(req))
      .toString()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
    const files = new Map(repo.commits.get(repo.branches.get(revision)!)!);
    let summary = "";
    let description: string | undefined;
    for (const { key, value } of lines) {
      if (key === "header") {
        summary = String(value.summary);
        description = value.description as string | undefined;
      } else if (key === "file") files.set(String(value.path), Buffer.from(String(value.content), "base64"));
      else if (key === "lfsFile") {
        const b = this.lfsObjects.get(String(value.oid));
        if (!b) return json(res, 422, { error: `LFS object ${value.oid} was never uploaded` });
        files.set(String(value.path), b);
      } else if (key === "deletedFile") files.delete(String(value.path));
    }
    const commit = newCommit();
    repo.commits.set(commit, files);
    repo.branches.set(revision, commit);
    repo.log.push({ commit, summary, description });
    if (this.dropCommitAnswerOnce) {
      this.dropCommitAnswerOnce = false;
      res.destroy();
      return;
    }
    json(res, 200, { success: true, commitOid: commit, commitUrl: `${this.url}/${name}/commit/${commit}` });
  }
}

function lfsPointer(b: Buffer): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(b)}\nsize ${b.length}\n`;
}

function toFiles(files: Record<string, Buffer | string>): Map<string, Buffer> {
  return new Map(Object.entries(files).map(([p, b]) => [p, typeof b === "string" ? Buffer.from(b) : b]));
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
