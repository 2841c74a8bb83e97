// The fetch every Hub call goes through. HF_ENDPOINT is the operator's configuration, not a team's input,
// so it is trusted as configured (a mirror on a private address, or 127.0.0.1 in tests); a team only
// chooses repository names, which hub-uri.ts checks strictly. What the endpoint answers is not trusted:
// redirects are followed by hand, within the endpoint's origin, or to a public https host (the Hub's CDN),
// without the token. A host outside the origin is checked by the webhook destination policy on the URL and
// again on the address the socket connects to (guardedFetch: a name that resolves inward is refused). Every
// answer about a repository file must carry the pinned commit when it names one (X-Repo-Commit), so a
// revision that moved is never mixed in.
import { bytesSetting } from "../cache/bytes-setting.js";
import { type DestinationPolicy, destinationUrlProblem, publicHttpsOnly } from "../net/destination-policy.js";
import { guardedFetch } from "../net/guarded-fetch.js";
import { DestinationRefused, type Resolve } from "../net/guarded-post.js";

export const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

export interface HubConfig {
  /** HF_ENDPOINT, as the Python hub library reads it. */
  endpoint: string;
  /** HF_MAX_MODEL_BYTES: the largest model registered from the Hub (files the checkpoint needs). */
  maxModelBytes: number;
  /** HF_CACHE_MAX_BYTES: the download cache is kept under this size (least recently used go first). */
  cacheMaxBytes: number;
}

export function hubConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const endpoint = (env.HF_ENDPOINT || DEFAULT_HF_ENDPOINT).replace(/\/+$/, "");
  const u = new URL(endpoint);
  if (u.protocol !== "https:" && u.protocol !== "http:")
    throw new Error(`HF_ENDPOINT: ${endpoint} is not http(s)`);
  return {
    endpoint,
    maxModelBytes: bytesSetting(env, "HF_MAX_MODEL_BYTES", 64 * 2 ** 30),
    cacheMaxBytes: bytesSetting(env, "HF_CACHE_MAX_BYTES", 200 * 2 ** 30),
  };
}

/** An answer of the Hub that contradicts what was pinned or listed (a moved revision, changed bytes). */
export class HubIntegrityError extends Error {
  override name = "HubIntegrityError";
}

/** A transfer that did not finish (a dropped connection, an unreachable endpoint); a retry resumes it. */
export class HubTransferError extends Error {
  override name = "HubTransferError";
}

export function hubFetch(
  endpoint: string,
  o: {
    expectCommit?: string;
    maxRedirects?: number;
    /** Where requests outside the endpoint's origin may go (default: public https hosts only). */
    outside?: DestinationPolicy;
    /** Name resolution for those requests (default dns.lookup; tests map names to addresses). */
    resolve?: Resolve;
  } = {},
): typeof fetch {
  const origin = new URL(endpoint).origin;
  const max = o.maxRedirects ?? 5;
  const outside = o.outside ?? publicHttpsOnly;
  const guarded = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    let headers = new Headers(init.headers);
    for (let hop = 0; ; hop++) {
      const away = url.origin !== origin;
      if (away) {
        const problem = destinationUrlProblem(url.href, outside);
        if (problem)
          throw new HubIntegrityError(
            `the Hub ${hop ? "redirected" : "pointed"} to ${url.origin}, which is refused: ${problem}`,
          );
      }
      let res: Response;
      try {
        res = away
          ? await guardedFetch(url, { ...init, headers }, { policy: outside, resolve: o.resolve })
          : await fetch(url, { ...init, headers, redirect: "manual" });
      } catch (e) {
        if (e instanceof DestinationRefused)
          throw new HubIntegrityError(
            `the Hub ${hop ? "redirected" : "pointed"} to ${url.origin}, which is refused: ${e.message}`,
          );
        init.signal?.throwIfAborted();
        throw new HubTransferError(
          `cannot reach ${url.origin}: ${(e as Error).cause ?? (e as Error).message}`,
        );
      }
      const commit = res.headers.get("x-repo-commit");
      if (o.expectCommit && commit && commit !== o.expectCommit) {
        await res.body?.cancel();
        throw new HubIntegrityError(
          `the Hub answered for commit ${commit} where ${o.expectCommit} was pinned: the revision moved during the download`,
        );
      }
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.body?.cancel();
      if (hop >= max) throw new HubIntegrityError(`more than ${max} redirects from ${url.origin}`);
      url = new URL(location, url);
      if (url.origin !== origin) {
        // The token is for the Hub only.
        headers = new Headers(headers);
        headers.delete("authorization");
      }
    }
  };
  return guarded as typeof fetch;
}
