// One error shape for every failure: {"error": {"code", "message", "details"?}} with a stable code.
// Bad input (UserError, schema issues, malformed or oversized bodies) is 4xx; anything else is a 500
// whose message says nothing about internals.

import { isUserError } from "@shortened/contracts";
import type { FastifyError, FastifyInstance } from "fastify";

const fastifyCodes: Record<string, { code: string; status: number }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "bad_request", status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "bad_request", status: 400 },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "payload_too_large", status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: "unsupported_media_type", status: 415 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: "bad_request", status: 400 },
  FST_REQ_FILE_TOO_LARGE: { code: "payload_too_large", status: 413 },
  FST_FILES_LIMIT: { code: "payload_too_large", status: 413 },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { code: "unsupported_media_type", status: 415 },
};

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details !== undefined ? { details } : {}) } };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isUserError(err)) {
      const details = (err as { details?: unknown }).details;
      return reply.status(err.status).send(errorBody(err.code, err.message, details));
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
