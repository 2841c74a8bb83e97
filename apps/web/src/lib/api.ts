// How the dashboard talks to the API: same-origin fetches that carry the session cookie, the session's
// CSRF token on every write, and the API's error shape ({error: {code, message, details}}) as ApiError.
// (When packages/client lands, its typed openapi-fetch client replaces `request` here; pages use only
// the functions below.)

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

let csrfToken = "";
/** Set at sign-in and on start (GET /session); sent as X-CSRF-Token on every write. */
export const setCsrfToken = (t: string) => {
  csrfToken = t;
};

/** Called when the API answers 401 (the session ended): the app goes back to sign-in. */
let onUnauthorized: () => void = () => {};
export const setOnUnauthorized = (f: () => void) => {
  onUnauthorized = f;
};

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; details?: unknown } } | null = null;
  try {
    body = await res.json();
  } catch {
    // not JSON
  }
  return new ApiError(
    res.status,
    body?.error?.code ?? "http_error",
    body?.error?.message ?? `${res.status} ${res.statusText}`,
    body?.error?.details,
  );
}

export async function request<T>(
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  o: { query?: Query; body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...o.headers };
  if (method !== "GET") headers["x-csrf-token"] = csrfToken;
  if (o.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(withQuery(path, o.query), {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
  });
  if (res.status === 401 && !path.startsWith("/session")) onUnauthorized();
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get("content-type") ?? "";
  return (type.includes("json") ? await res.json() : await res.text()) as T;
}

export const api = {
  get: <T>(path: string, query?: Query, headers?: Record<string, string>) =>
    request<T>("GET", path, { query, headers }),
  post: <T>(path: string, body: unknown = {}) => request<T>("POST", path, { body }),
  put: <T>(path: string, body: unknown = {}) => request<T>("PUT", path, { body }),
  delete: <T>(path: string) => request<T>("DELETE", path),
};

/**
 * A conditional GET: sends the ETag of the last answer and keeps the last body on 304, so a page can poll
 * a list every second or two while the server only hashes (and the browser parses nothing new).
 */
export class EtagGetter<T> {
  private etag = "";
  private body: T | undefined;
  constructor(private readonly path: string) {}
  async get(query?: Query): Promise<{ body: T; changed: boolean }> {
    const url = withQuery(this.path, query);
    const res = await fetch(url, {
      headers: { accept: "application/json", ...(this.etag ? { "if-none-match": this.etag } : {}) },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (res.status === 304 && this.body !== undefined) return { body: this.body, changed: false };
    if (res.status === 401) onUnauthorized();
    if (!res.ok) throw await errorOf(res);
    this.etag = res.headers.get("etag") ?? "";
    this.body = (await res.json()) as T;
    return { body: this.body, changed: true };
  }
}
