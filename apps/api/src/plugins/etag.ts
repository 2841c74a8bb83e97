// Conditional GETs for polling dashboards: every 200 JSON answer to a GET in this plugin's scope (/v1)
// carries a weak ETag (a hash of the body); a request whose If-None-Match names it gets 304 with no body.
import { createHash } from "node:crypto";
import fp from "fastify-plugin";

export function etagOf(body: string | Buffer): string {
  return `W/"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}

function matches(header: string | undefined, tag: string): boolean {
  if (!header) return false;
  const strip = (t: string) => t.trim().replace(/^W\//, "");
  return header.split(",").some((t) => t.trim() === "*" || strip(t) === strip(tag));
}

export const etags = fp(
  async (app) => {
    app.addHook("onSend", async (req, reply, payload) => {
      if (req.method !== "GET" || reply.statusCode !== 200) return payload;
      if (typeof payload !== "string" && !Buffer.isBuffer(payload)) return payload;
      const tag = etagOf(payload);
      reply.header("etag", tag);
      reply.header("cache-control", "private, no-cache");
      if (!matches(req.headers["if-none-match"], tag)) return payload;
      reply.code(304);
      reply.removeHeader("content-type");
      reply.removeHeader("content-length");
      return "";
    });
  },
  { name: "etags" },
);
