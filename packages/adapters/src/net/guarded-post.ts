// A POST to a destination the policy admits, checked where it matters: on the address the socket connects
// to. Host names go through a lookup that refuses the whole name when any address it resolves to is
// refused, and the socket connects to the address that was checked, so DNS rebinding between check and
// connect cannot pass. Redirects are never followed (the status is reported as it is).
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { type DestinationPolicy, destinationUrlProblem, refusalFor } from "./destination-policy.js";

/** A destination the policy refuses; the message names the host and why, never a response. */
export class DestinationRefused extends Error {
  override name = "DestinationRefused";
}

export type Resolve = (
  hostname: string,
  options: { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/** dns.lookup (or `resolve`) that only hands out admitted addresses. */
export function guardedLookup(policy: DestinationPolicy, resolve: Resolve = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const refused = addresses.map((a) => refusalFor(hostname, a.address, policy)).find(Boolean);
      if (refused || addresses.length === 0)
        return callback(new DestinationRefused(refused ?? `${hostname} resolves to no address`), "", 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

export interface GuardedPostOptions {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: DestinationPolicy;
}

/** POSTs `body` and answers the HTTP status; rejects with DestinationRefused before any connection. */
export function guardedPost(rawUrl: string, o: GuardedPostOptions): Promise<number> {
  const problem = destinationUrlProblem(rawUrl, o.policy);
  if (problem) return Promise.reject(new DestinationRefused(problem));
  const url = new URL(rawUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const options: RequestOptions = {
    method: "POST",
    headers: { ...o.headers, "content-length": String(Buffer.byteLength(o.body)) },
    // A literal address was checked above; a name is checked on each address it resolves to.
    ...(isIP(host) ? {} : { lookup: guardedLookup(o.policy) }),
    agent: false,
    timeout: o.timeoutMs,
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, options, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    const timer = setTimeout(() => req.destroy(timeoutError(o.timeoutMs)), o.timeoutMs);
    req.on("close", () => clearTimeout(timer));
    req.on("timeout", () => req.destroy(timeoutError(o.timeoutMs)));
    req.on("error", reject);
    req.end(o.body);
  });
}

function timeoutError(ms: number): Error {
  const e = new Error(`no answer in ${ms} ms`);
  e.name = "TimeoutError";
  return e;
}
