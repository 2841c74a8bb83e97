// How the dashboard talks to the API: the typed client of packages/client (openapi-fetch over the schema
// generated from the API's OpenAPI document), same-origin so the session cookie goes along, the session's
// CSRF token on every write, and the API's error shape ({error: {code, message, details}}) as ApiError.
// Pages call `api.GET("/v1/…", …)` and unwrap the answer with `ok(…)`.
import { createShortenedClient } from "@shortened/client";

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

export const api = createShortenedClient({
  baseUrl: location.origin,
  credentials: "same-origin",
  cache: "no-store",
});
api.use({
  onRequest({ request }) {
    if (request.method !== "GET") request.headers.set("x-csrf-token", csrfToken);
    return request;
  },
  onResponse({ response, schemaPath }) {
    if (response.status === 401 && !schemaPath.startsWith("/session")) onUnauthorized();
  },
});

/** An openapi-fetch answer: `data` when the status is 2xx, else `error` (the API's error body). */
type Answer<D, E> = { data?: D; error?: E; response: Response };

function errorOf(response: Response, error: unknown): ApiError {
  const e =
    error && typeof error === "object" && "error" in error && error.error && typeof error.error === "object"
      ? error.error
      : {};
  const code = "code" in e && typeof e.code === "string" ? e.code : "http_error";
  const message =
    "message" in e && typeof e.message === "string" ? e.message : `${response.status} ${response.statusText}`;
  return new ApiError(response.status, code, message, "details" in e ? e.details : undefined);
}

/** The answer's body, or an ApiError with the API's code and message. */
export function unwrap<D, E>(answer: Answer<D, E>): D {
  if (answer.response.ok && answer.data !== undefined) return answer.data;
  throw answer.response.ok
    ? new ApiError(answer.response.status, "no_body", `${answer.response.status} without a body`)
    : errorOf(answer.response, answer.error);
}

/** Awaits a call and unwraps its body: `const job = await ok(api.GET("/v1/jobs/{id}", …))`. */
export const ok = async <D, E>(call: Promise<Answer<D, E>>): Promise<D> => unwrap(await call);

/** Awaits a call that answers without a body (204), or throws its ApiError. */
export async function done<D, E>(call: Promise<Answer<D, E>>): Promise<void> {
  const answer = await call;
  if (!answer.response.ok) throw errorOf(answer.response, answer.error);
}

/**
 * A conditional GET: sends the ETag of the last answer and keeps the last body on 304, so a page can poll
 * a list every second or two while the server only hashes (and the browser parses nothing new).
 */
export class EtagCache<D> {
  private etag = "";
  private body: D | undefined;
  async get<E>(
    call: (headers: { "if-none-match"?: string }) => Promise<Answer<D, E>>,
  ): Promise<{ body: D; changed: boolean }> {
    const answer = await call(this.etag ? { "if-none-match": this.etag } : {});
    if (answer.response.status === 304 && this.body !== undefined) return { body: this.body, changed: false };
    const body = unwrap(answer);
    this.etag = answer.response.headers.get("etag") ?? "";
    this.body = body;
    return { body, changed: true };
  }
}
