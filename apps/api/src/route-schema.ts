// The pieces every route schema is made of: JSON answers with a description, the error answers a route can
// give (each with the one error shape), and the route config that says who may call it. The plugins add the
// errors that come from them (auth: 401/403, rate limit: 429, body parsing and validation: 400/413/415), so a
// route lists only its own (404, 409, 422).
import { ErrorBody } from "@shortened/contracts";
import type { RouteOptions } from "fastify";
import { z } from "zod";

/** Who may call a route under /v1: any key of the team, or admin keys only. */
export type Role = "member" | "admin";

/** What the audit plugin records when the route answers `status` (routes with richer entries write their own). */
export interface AuditSpec {
  action: string;
  targetType: string;
  status: number;
  /** Fields picked from the answer (never the whole answer: a new key's answer holds the key). */
  pick?: string[];
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Every route under /v1 says who may call it; the auth plugin enforces it. */
    role?: Role;
    /** Recorded in the team's audit trail when the route succeeds. */
    audit?: AuditSpec;
    /** The request body as documented, for routes that read their body themselves (uploads). */
    documentedBody?: Record<string, { schema: Record<string, unknown> }>;
  }
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 414 | 415 | 422 | 429 | 502;

const defaultDescription: Record<ErrorStatus, string> = {
  400: "bad input: malformed JSON, or a body, query or path parameter that does not validate (details lists each issue)",
  401: "no credential, or a bad or revoked API key",
  403: "the route needs an admin key",
  404: "no such object in the caller's team",
  409: "conflicts with the object's state",
  413: "the body is larger than the server's limit",
  414: "a path parameter is longer than 100 characters",
  415: "unsupported Content-Type: send JSON with Content-Type: application/json",
  422: "understood but refused",
  429: "this key's rate limit is reached (RATE_LIMIT_PER_MINUTE); retry after the time in the message",
  502: "the Hugging Face Hub (HF_ENDPOINT) could not be reached, or answered with bytes that do not match what it listed",
};

/** A JSON answer: `json(Job, "the job")`. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** Error answers with the error shape: `errors(404, [409, "already revoked"])`. */
export function errors(...codes: (ErrorStatus | [ErrorStatus, string])[]) {
  return Object.fromEntries(
    codes.map((c) => {
      const [status, description] = Array.isArray(c) ? c : [c, defaultDescription[c]];
      return [status, json(ErrorBody, description)];
    }),
  );
}

/** Adds error answers a plugin can give to a route's schema, keeping any the route describes itself. */
export function addErrors(route: RouteOptions, ...codes: ErrorStatus[]): void {
  const schema = route.schema ?? {};
  const response = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
  for (const [status, answer] of Object.entries(errors(...codes))) response[status] ??= answer;
  route.schema = { ...schema, response };
}

/** Path parameter `id`. */
export const idParam = (what: string) => z.object({ id: z.string().min(1).max(200).describe(what) });
