// How requests are read: JSON bodies (an empty body is no body, so a bodiless POST may still say
// Content-Type: application/json), tar uploads as a stream, multipart uploads; route schemas are zod
// schemas, validated and serialized by fastify-type-provider-zod. Each route is documented with the errors
// this can give: 400 (bad JSON or a part that does not validate), 413 (too large), 415 (a body in another
// Content-Type).
import multipart from "@fastify/multipart";
import type { FastifySchemaCompiler } from "fastify";
import fp from "fastify-plugin";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { z } from "zod";
import { addErrors, type ErrorStatus } from "../route-schema.js";

const bodyMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Fastify hands a missing body to the validator as null; zod's defaults apply to undefined. */
const zodValidator: FastifySchemaCompiler<z.ZodType> = (route) => {
  const validate = validatorCompiler(route);
  return route.httpPart === "body" ? (data) => validate(data ?? undefined) : validate;
};

export const requestParsing = fp<{ uploadLimitBytes: number }>(
  async (app, { uploadLimitBytes }) => {
    app.setValidatorCompiler(zodValidator);
    app.setSerializerCompiler(serializerCompiler);

    const parseJson = app.getDefaultJsonParser("error", "error");
    app.removeContentTypeParser("application/json");
    app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
      if ((body as string).trim() === "") return done(null, undefined);
      parseJson(req, body as string, done);
    });
    // A tar upload is streamed to the handler, not buffered.
    app.addContentTypeParser("application/x-tar", (_req, payload, done) => done(null, payload));
    await app.register(multipart, { limits: { fileSize: uploadLimitBytes } });

    app.addHook("onRoute", (route) => {
      if (route.schema?.hide) return;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const codes: ErrorStatus[] = [];
      const s = route.schema ?? {};
      if (s.body || s.querystring || s.params || s.headers) codes.push(400);
      if (methods.some((m) => bodyMethods.has(m))) codes.push(400, 413, 415);
      if (codes.length) addErrors(route, ...codes);
    });
  },
  { name: "request-parsing" },
);
