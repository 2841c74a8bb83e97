// A resource's routes as one encapsulated fastify plugin. `v1Routes` plugins can only be registered behind
// the auth plugin (fastify-plugin checks the dependency at start-up), so every route in them is
// authenticated and states its role; `publicRoutes` need no key.
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";
import fp from "fastify-plugin";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { ApiDeps } from "../deps.js";

export type ZodApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

type Register = (app: ZodApp, d: ApiDeps) => void | Promise<void>;

export const v1Routes = (name: string, register: Register) =>
  fp<ApiDeps>(async (app, d) => register(app.withTypeProvider<ZodTypeProvider>(), d), {
    name: `${name} routes`,
    dependencies: ["auth", "openapi"],
    encapsulate: true,
  });

export const publicRoutes = (name: string, register: Register) =>
  fp<ApiDeps>(async (app, d) => register(app.withTypeProvider<ZodTypeProvider>(), d), {
    name: `${name} routes`,
    dependencies: ["openapi"],
    encapsulate: true,
  });
