// One error shape for every failure: {"error": {"code", "message", "details"?}} with a stable code.
// Bad input (UserError, schema issues, malformed or oversized bodies, a body in the wrong Content-Type) is
// 4xx; an unreachable artifact store is 503 `store_unavailable`, a database too busy to answer in time 503
// `busy`; anything else is a 500 whose message says
// nothing about internals.

import type { Socket } from "node:net";
import { isDatabaseBusy } from "@shortened/adapters";
import { isUserError } from "@shortened/contracts";
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";

const fastifyCodes: Record<string, { code: string; status: number }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "bad_request", status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "bad_request", status: 400 },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "payload_too_large", status: 413 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: "bad_request", status: 400 },
  FST_REQ_FILE_TOO_LARGE: { code: "payload_too_large", status: 413 },
  FST_FILES_LIMIT: { code: "payload_too_large", status: 413 },
  FST_ERR_BAD_URL: { code: "bad_request", status: 400 },
  FST_ERR_MAX_PARAM_LENGTH: { code: "uri_too_long", status: 414 },
};

const validationPart: Record<string, string> = {
  body: "body",
  querystring: "query",
  params: "path",
  headers: "header",
};

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details !== undefined ? { details } : {}) } };
}

/** Says what the route accepts, so a caller knows what to send. */
function unsupportedMediaType(req: FastifyRequest): string {
  const sent = req.headers["content-type"];
  const accepted = Object.keys(req.routeOptions.config.documentedBody ?? { "application/json": null });
  return `${sent ? `unsupported Content-Type ${sent}` : "a body needs a Content-Type"}: send ${accepted.length > 1 ? `${accepted.slice(0, -1).join(", ")} or ${accepted.at(-1)}` : `JSON with Content-Type: ${accepted[0]}`}`;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isUserError(err)) {
      const details = (err as { details?: unknown }).details;
      return reply.status(err.status).send(errorBody(err.code, err.message, details));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        path: v.instancePath.split("/").filter(Boolean),
        message: v.message,
      }));
      const first = issues[0];
      const where = first.path.length ? `${first.path.join(".")}: ` : "";
      const part = validationPart[err.validationContext ?? ""] ?? err.validationContext;
      return reply
        .status(400)
        .send(errorBody("bad_request", `invalid ${part}: ${where}${first.message}`, issues));
    }
    if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || err.code === "FST_INVALID_MULTIPART_CONTENT_TYPE")
      return reply.status(415).send(errorBody("unsupported_media_type", unsupportedMediaType(req)));
    // The artifact store could not be reached: the request may succeed later (the reason names the operation,
    // never the store's endpoint).
    if ((err as Error).name === "ArtifactStoreUnavailable")
      return reply.status(503).header("retry-after", "5").send(errorBody("store_unavailable", err.message));
    // The database was too busy to answer in time (pool or transaction timeout, lock or serialization conflict).
    if (isDatabaseBusy(err)) {
      req.log.warn({ err }, "database busy");
      return reply
        .status(503)
        .header("retry-after", "2")
        .send(errorBody("busy", "the registry is busy; retry later"));
    }
    const known = err.code ? fastifyCodes[err.code] : undefined;
    if (known) return reply.status(known.status).send(errorBody(known.code, err.message));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return reply.status(err.statusCode).send(errorBody("bad_request", err.message));
    req.log.error({ err }, "request failed");
    return reply.status(500).send(errorBody("internal", "internal error"));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(errorBody("not_found", `no route ${req.method} ${req.url.split("?")[0]}`)),
  );
}

/**
 * The errors fastify answers before any route runs (a path parameter beyond maxParamLength, a malformed
 * percent-encoding) and those of the HTTP parser (a malformed request, oversized headers), in the same shape.
 */
export const frameworkErrorOptions: Pick<FastifyServerOptions, "frameworkErrors" | "clientErrorHandler"> = {
  frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
    const known = fastifyCodes[err.code] ?? { code: "bad_request", status: err.statusCode ?? 400 };
    const message =
      err.code === "FST_ERR_MAX_PARAM_LENGTH"
        ? "a path parameter is too long (ids are at most 100 characters)"
        : err.code === "FST_ERR_BAD_URL"
          ? "malformed percent-encoding in the URL"
          : err.message;
    return reply.status(known.status).send(errorBody(known.code, message));
  },
  clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket) {
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    const [status, code, message] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "headers_too_large", "the request headers are too large"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "request_timeout", "the request was not received in time"]
          : [400, "bad_request", "malformed HTTP request"];
    const body = JSON.stringify(errorBody(code, message));
    if (socket.writable)
      socket.write(
        `HTTP/1.1 ${status} ${code.replace(/_/g, " ")}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
      );
    socket.destroy(err);
  },
};
