// Authentication and roles for every route registered after this plugin in its scope (the /v1 scope): one
// onRequest hook asks each credential source in turn for the caller, answers 401 when none knows it, and
// 403 when the route's `config.role` is "admin" and the caller is not. Every route in the scope must say its
// role (registration fails otherwise), and is documented with the security schemes and 401/403.
//
// Extension point: a credential source is anything that turns a request into a principal, e.g. a session
// cookie for the dashboard. Add it to the `sources` given to this plugin (see buildApp); the OpenAPI document
// then lists its scheme beside the Bearer key.
import { authenticate, type Principal, type PrismaClient } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import type { FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { OpenAPIV3_1 } from "openapi-types";
import { addErrors } from "../route-schema.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
    /** Asks the credential sources again: false once the caller's key (or session) is revoked or expired. */
    stillAuthenticated?: () => Promise<boolean>;
  }
}

export interface CredentialSource {
  /** The OpenAPI security scheme this source implements (name and definition). */
  scheme: { name: string; definition: OpenAPIV3_1.SecuritySchemeObject };
  /** What to tell a caller that sent no credential at all. */
  hint: string;
  /**
   * The caller, or null when the request carries no credential of this kind. A credential of this kind
   * that is bad or revoked throws a 401 UserError.
   */
  authenticate(req: FastifyRequest): Promise<Principal | null>;
}

/** `Authorization: Bearer <key>`: only the key's SHA-256 is looked up. */
export function apiKeySource(db: PrismaClient): CredentialSource {
  return {
    scheme: {
      name: "bearer",
      definition: { type: "http", scheme: "bearer", description: "an API key (sk_…)" },
    },
    hint: "send Authorization: Bearer <key>",
    async authenticate(req) {
      const header = req.headers.authorization;
      if (!header) return null;
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) throw new UserError("unauthorized", "malformed Authorization header: send Bearer <key>", 401);
      const principal = await authenticate(db, m[1]);
      if (!principal) throw new UserError("unauthorized", "invalid or revoked API key", 401);
      return principal;
    },
  };
}

export const auth = fp<{ sources: CredentialSource[] }>(
  async (app, { sources }) => {
    // Any one of the sources will do.
    const security = sources.map((s) => ({ [s.scheme.name]: [] }));
    app.addHook("onRoute", (route) => {
      const role = route.config?.role;
      if (role !== "member" && role !== "admin")
        throw new Error(
          `${route.method} ${route.url}: say who may call it with config.role "member" or "admin"`,
        );
      route.schema = { ...route.schema, security };
      addErrors(route, 401, ...(role === "admin" ? ([403] as const) : []));
    });

    app.addHook("onRequest", async (req) => {
      let principal: Principal | null = null;
      for (const source of sources) {
        principal = await source.authenticate(req);
        if (principal) break;
      }
      if (!principal)
        throw new UserError(
          "unauthorized",
          `missing API key: ${sources.map((s) => s.hint).join(", or ")}`,
          401,
        );
      req.principal = principal;
      const keyId = principal.keyId;
      // Long-lived answers (event streams) ask again, so a revoked key stops receiving.
      req.stillAuthenticated = async () => {
        for (const source of sources) {
          const again = await source.authenticate(req).catch(() => null);
          if (again) return again.keyId === keyId;
        }
        return false;
      };
      const { role } = req.routeOptions.config;
      if (role === "admin" && principal.role !== "admin")
        throw new UserError(
          "forbidden",
          `${req.method} ${req.routeOptions.url} needs an admin key (this key is a ${principal.role} key)`,
          403,
        );
    });
  },
  { name: "auth" },
);

/** The caller's team (every route behind the auth plugin has a principal). */
export function teamOf(req: FastifyRequest): string {
  if (!req.principal) throw new UserError("unauthorized", "missing API key", 401);
  return req.principal.teamId;
}

/** The calling key's id. */
export function keyOf(req: FastifyRequest): string {
  if (!req.principal) throw new UserError("unauthorized", "missing API key", 401);
  return req.principal.keyId;
}
