// fetch for a destination outside the operator's configuration (where the Hub redirects to, an LFS upload
// URL), checked where it matters: on the address the socket connects to. A literal address is checked before
// anything happens; a name goes through guardedLookup, which refuses it when any address it resolves to is
// refused, and the socket connects to the address that was checked (no DNS rebinding between check and
// connect). Redirects are not followed here: the answer goes back to the caller as it is.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { type DestinationPolicy, destinationUrlProblem } from "./destination-policy.js";
import { DestinationRefused, guardedLookup, type Resolve } from "./guarded-post.js";

export async function guardedFetch(
  url: URL,
  init: RequestInit,
  o: { policy: DestinationPolicy; resolve?: Resolve },
): Promise<Response> {
  const problem = destinationUrlProblem(url.href, o.policy);
  if (problem) throw new DestinationRefused(problem);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => {
    headers[k] = v;
  });
  const body =
    init.body === undefined || init.body === null
      ? null
      : Readable.fromWeb(new Response(init.body).body as unknown as WebReadableStream);
  const options: RequestOptions = {
    method: init.method ?? "GET",
    headers,
    ...(isIP(host) ? {} : { lookup: guardedLookup(o.policy, o.resolve) }),
    agent: false,
    signal: init.signal ?? undefined,
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, options, resolve);
    req.on("error", reject);
    if (body) pipeline(body, req).catch(reject);
    else req.end();
  });
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) for (const x of Array.isArray(v) ? v : [v]) out.append(k, x);
  const status = res.statusCode ?? 502;
  const empty = status === 204 || status === 205 || status === 304 || init.method === "HEAD";
  if (empty) res.resume();
  return new Response(empty ? null : (Readable.toWeb(res) as unknown as ReadableStream), {
    status,
    statusText: res.statusMessage,
    headers: out,
  });
}
