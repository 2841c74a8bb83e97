// How requests are read: JSON bodies (an empty body is no body, so a bodiless POST may still say
// Content-Type: application/json), tar uploads as a stream, multipart uploads; route schemas are zod
// schemas, validated and serialized by fastify-type-provider-zod. Each route is documented with the errors
// this can give: 400 (bad JSON or a part that does not validate), 413 (too large), 415 (a body in another
// Content-Type). NUL bytes, which no stored text may hold (PostgreSQL refuses them), are refused here, in the
// URL and anywhere in a JSON body, before anything reads them.
import multipart from "@fastify/multipart";
import { UserError } from "@shortened/contracts";
import type { FastifySchemaCompiler } from "fastify";
import fp from "fastify-plugin";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { z } from "zod";
import { addErrors, type ErrorStatus } from "../route-schema.js";

const bodyMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const nulError = (where: string) =>
  new UserError("bad_request", `NUL bytes are not accepted (found in the ${where})`);

/** Whether a parsed JSON value holds a NUL character in any string or key (iteratively: no deep recursion). */
export function holdsNul(value: unknown): boolean {
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (v.includes("\0")) return true;
    } else if (v && typeof v === "object")
      for (const [k, x] of Object.entries(v)) {
        if (k.includes("\0")) return true;
        stack.push(x);
      }
  }
  return false;
}

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
      parseJson(req, body as string, (err, parsed) => {
        if (err) return done(err, undefined);
        if (holdsNul(parsed)) return done(nulError("body"), undefined);
        done(null, parsed);
      });
    });
    app.addHook("onRequest", async (req) => {
      if (/%00/i.test(req.url)) throw nulError("URL");
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
      if (s.params) codes.push(414);
      if (methods.some((m) => bodyMethods.has(m))) codes.push(400, 413, 415);
      if (codes.length) addErrors(route, ...codes);
    });
  },
  { name: "request-parsing" },
);
