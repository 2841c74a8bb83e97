// The typed client of the Shortened REST API. `generated/schema.ts` is generated from the API's OpenAPI
// document (`openapi.json` beside this package, the same the server serves at /openapi.json) by
// openapi-typescript with its default options; `npm run generate:client` rewrites both, and a test checks
// that they equal what the routes generate. Calls go through openapi-fetch:
//
//   const api = createShortenedClient({ baseUrl: "http://127.0.0.1:8080", apiKey });
//   const { data, error } = await api.POST("/v1/jobs", { body: { kind: "evaluate", model: "tiny" } });
import createClient, { type Client, type ClientOptions as FetchOptions } from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

export type { components, operations, paths } from "./generated/schema.js";

export type ShortenedClient = Client<paths>;
export type Schemas = components["schemas"];
/** Every error answer: `{"error": {"code", "message", "details"?}}`. */
export type ErrorBody = Schemas["Error"];

export interface ShortenedClientOptions extends Omit<FetchOptions, "baseUrl"> {
  /** The service's URL, e.g. http://127.0.0.1:8080 (without /v1). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`; leave out when another credential (a session cookie) is used. */
  apiKey?: string;
}

export function createShortenedClient({
  baseUrl,
  apiKey,
  ...options
}: ShortenedClientOptions): ShortenedClient {
  const client = createClient<paths>({ ...options, baseUrl: baseUrl.replace(/\/+$/, "") });
  if (apiKey)
    client.use({
      onRequest({ request }) {
        request.headers.set("authorization", `Bearer ${apiKey}`);
        return request;
      },
    });
  return client;
}

/** One line for an error answer: "404 not_found: no job \"x\"". */
export function describeError(status: number, error: unknown): string {
  const e = (error as Partial<ErrorBody> | undefined)?.error;
  return `${status} ${e?.code ?? "error"}: ${e?.message ?? "no error body"}`;
}
