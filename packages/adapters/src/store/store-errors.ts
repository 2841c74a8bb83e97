// What a job's reason or an API answer may say when the artifact store cannot be reached: a stable phrase
// and the operation, never the endpoint (`connect ECONNREFUSED 10.0.3.7:9000` maps the network inside).
// S3's own answers (NoSuchBucket, AccessDenied, …) stay as they are: they say what is wrong.

export class ArtifactStoreUnavailable extends Error {
  constructor(readonly operation: string) {
    super(`artifact store unavailable (${operation}); retry later`);
    this.name = "ArtifactStoreUnavailable";
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** True for an error of the connection to the store (no answer, or a 5xx that the SDK gave up retrying). */
export function isStoreUnreachable(e: unknown): boolean {
  const x = e as {
    code?: string;
    name?: string;
    message?: string;
    cause?: unknown;
    $metadata?: { httpStatusCode?: number };
  } | null;
  if (!x || typeof x !== "object") return false;
  if (x.code && NETWORK_CODES.has(x.code)) return true;
  if (x.name === "TimeoutError" || x.name === "RequestTimeout") return true;
  const status = x.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500 && status !== 501) return true;
  if (typeof x.message === "string" && /socket hang up|ECONNREFUSED|ECONNRESET|EPIPE/.test(x.message))
    return true;
  return x.cause !== undefined && x.cause !== e && isStoreUnreachable(x.cause);
}

/** Runs a store operation, turning a connection failure into ArtifactStoreUnavailable. */
export async function storeCall<T>(operation: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ArtifactStoreUnavailable || !isStoreUnreachable(e)) throw e;
    throw new ArtifactStoreUnavailable(operation);
  }
}
