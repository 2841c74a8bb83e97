// Resolving hf://org/name@revision to a commit and the checkpoint files it holds at that commit, with the
// sizes and hashes the Hub states (LFS sha256 for large files, the git blob id for small ones). Every later
// request names the commit, never the revision, so a branch that moves after this call changes nothing.
import { downloadFile, HubApiError, listFiles, modelInfo } from "@huggingface/hub";
import { UserError } from "@shortened/contracts";
import { type HubConfig, HubIntegrityError, HubTransferError, hubFetch } from "./hub-fetch.js";
import { COMMIT, type HubRef, hubUri } from "./hub-uri.js";

export interface HubFile {
  path: string;
  size: number;
  /** The LFS object id (sha256 of the content), for files stored with LFS. */
  sha256?: string;
  /** The git blob id (sha1 of "blob <size>\0" + content). */
  gitOid: string;
}

export interface HubSnapshot {
  repo: string;
  revision: string;
  commit: string;
  files: HubFile[];
  totalBytes: number;
  gated: boolean;
  private: boolean;
  /** The license in the model card's metadata, when it states one. */
  license?: string;
}

/** Files a checkpoint needs besides its weights. */
const SIDE_FILES = new Set([
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "added_tokens.json",
  "LICENSE",
  "LICENSE.txt",
  "LICENSE.md",
]);
const INDEX = "model.safetensors.index.json";

/** A Hub API error as what went wrong, for the caller to act on; transfer problems stay retryable. */
export function hubProblem(e: unknown, ref: HubRef, tokenSecret?: string): Error {
  if (e instanceof UserError || e instanceof HubIntegrityError || e instanceof HubTransferError) return e;
  const uri = hubUri(ref.repo, ref.revision);
  if (e instanceof TypeError && /must start with 'hf_'/.test(e.message))
    return new UserError(
      "hub_unauthorized",
      `the secret ${tokenSecret ?? ""} is not a Hub token (hf_...)`,
      422,
    );
  if (!(e instanceof HubApiError)) return e instanceof Error ? e : new Error(String(e));
  // tokenSecret names where the token came from: a team secret, or "$HF_TOKEN" in embedded mode.
  const using = !tokenSecret
    ? "no token"
    : tokenSecret.startsWith("$")
      ? `the token in ${tokenSecret}`
      : `the team secret "${tokenSecret}"`;
  switch (e.statusCode) {
    case 401:
      return new UserError(
        "hub_unauthorized",
        `the Hub refused ${using} for ${uri} (401): ${tokenSecret ? "the token is wrong or revoked" : "the repository is private: register with tokenSecret naming a team secret that holds a Hub token"}`,
        422,
      );
    case 403:
      return new UserError(
        "hub_gated",
        `${uri} is gated or restricted and ${using} has no access (403): accept the repository's conditions on the Hub with the token's account, or use a token that has access`,
        422,
      );
    case 404:
      return new UserError(
        "hub_not_found",
        `${uri}: no such repository, revision or file on the Hub (404)`,
        422,
      );
    default:
      return new HubTransferError(`the Hub answered ${e.statusCode} for ${uri}`);
  }
}

/** The commit `ref` points at now and the checkpoint files there; refuses a snapshot over `maxModelBytes`. */
export async function resolveSnapshot(
  cfg: HubConfig,
  ref: HubRef,
  o: { token?: string; tokenSecret?: string } = {},
): Promise<HubSnapshot> {
  const uri = hubUri(ref.repo, ref.revision);
  const common = { hubUrl: cfg.endpoint, accessToken: o.token };
  try {
    const info = await modelInfo({
      ...common,
      name: ref.repo,
      revision: ref.revision,
      additionalFields: ["sha", "cardData"],
      fetch: hubFetch(cfg.endpoint),
    });
    const commit = (info as { sha?: string }).sha;
    if (!commit || !COMMIT.test(commit))
      throw new HubIntegrityError(`the Hub named no commit for ${uri} (sha: ${String(commit)})`);
    const fetchPinned = hubFetch(cfg.endpoint, { expectCommit: commit });
    const listed = new Map<string, HubFile>();
    for await (const f of listFiles({ ...common, repo: ref.repo, revision: commit, fetch: fetchPinned })) {
      if (f.type !== "file") continue;
      if (!f.oid) throw new HubIntegrityError(`the Hub listed ${f.path} without a git object id`);
      listed.set(f.path, { path: f.path, size: f.lfs?.size ?? f.size, sha256: f.lfs?.oid, gitOid: f.oid });
    }
    if (!listed.has("config.json"))
      throw new UserError("invalid_checkpoint", `${uri} holds no config.json`, 422);
    let weights: string[];
    const index = listed.get(INDEX);
    if (index) {
      const blob = await downloadFile({
        ...common,
        repo: ref.repo,
        path: INDEX,
        revision: commit,
        fetch: fetchPinned,
      });
      if (!blob) throw new UserError("hub_not_found", `${uri}: ${INDEX} is listed but missing`, 422);
      if (blob.size > 50 * 2 ** 20)
        throw new UserError("invalid_checkpoint", `${uri}: ${INDEX} is too large`, 422);
      let map: Record<string, string>;
      try {
        map = (JSON.parse(await blob.text()) as { weight_map: Record<string, string> }).weight_map;
      } catch (e) {
        throw new UserError(
          "invalid_checkpoint",
          `${uri}: ${INDEX} is not valid JSON: ${(e as Error).message}`,
          422,
        );
      }
      weights = [...new Set(Object.values(map ?? {}))].sort();
      for (const w of weights)
        if (!listed.has(w))
          throw new UserError(
            "hub_not_found",
            `${uri}: shard ${w} named by ${INDEX} is not in the repository`,
            422,
          );
      weights.push(INDEX);
    } else if (listed.has("model.safetensors")) weights = ["model.safetensors"];
    else {
      weights = [...listed.keys()].filter((p) => !p.includes("/") && p.endsWith(".safetensors"));
      if (weights.length === 0)
        throw new UserError(
          "invalid_checkpoint",
          `${uri} holds no safetensors weights (pytorch_model.bin and other formats are not read)`,
          422,
        );
    }
    const files = [...weights, ...[...listed.keys()].filter((p) => SIDE_FILES.has(p))]
      .sort()
      .map((p) => listed.get(p) as HubFile);
    const totalBytes = files.reduce((s, f) => s + f.size, 0);
    if (totalBytes > cfg.maxModelBytes)
      throw new UserError(
        "payload_too_large",
        `${uri} needs ${totalBytes} bytes, over this service's size budget for Hub models (HF_MAX_MODEL_BYTES ${cfg.maxModelBytes})`,
        422,
      );
    return {
      repo: ref.repo,
      revision: ref.revision,
      commit,
      files,
      totalBytes,
      gated: Boolean(info.gated),
      private: Boolean(info.private),
      license: licenseOf((info as { cardData?: { license?: unknown } }).cardData?.license),
    };
  } catch (e) {
    throw hubProblem(e, ref, o.tokenSecret);
  }
}

function licenseOf(v: unknown): string | undefined {
  if (typeof v === "string" && v.length <= 200) return v;
  if (Array.isArray(v) && typeof v[0] === "string") return v.join(", ").slice(0, 200);
  return undefined;
}
