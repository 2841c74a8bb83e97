// Which network destinations the service may send requests to on a team's behalf (webhooks). Only public
// unicast addresses, unless the operator admits an internal receiver by address, CIDR or host name; only
// https, unless the operator allows plain http. URL host names are read by the WHATWG parser, which already
// turns the odd IPv4 spellings (127.1, 2130706433, 0x7f.0.0.1) into dotted quads.
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

export interface DestinationPolicy {
  /** Admitted although not public: addresses ("127.0.0.1"), CIDRs ("10.1.0.0/16") or exact host names. */
  allow: string[];
  /** Plain http:// destinations are accepted (default: https only). */
  allowHttp: boolean;
}

export const publicHttpsOnly: DestinationPolicy = { allow: [], allowHttp: false };

/** WEBHOOK_ALLOWED_DESTINATIONS (comma-separated addresses, CIDRs, host names), WEBHOOK_ALLOW_HTTP=1. */
export function destinationPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): DestinationPolicy {
  const allow = (env.WEBHOOK_ALLOWED_DESTINATIONS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of allow)
    if (entry.includes("/") && !isCidr(entry))
      throw new Error(`WEBHOOK_ALLOWED_DESTINATIONS: "${entry}" is not a CIDR such as 10.0.0.0/8`);
  return { allow, allowHttp: env.WEBHOOK_ALLOW_HTTP === "1" };
}

function isCidr(s: string): boolean {
  try {
    ipaddr.parseCIDR(s);
    return true;
  } catch {
    return false;
  }
}

/** The range an address falls in ("unicast" for public addresses); IPv4-mapped IPv6 counts as its IPv4. */
export function addressRange(address: string): string {
  const ip = parseAddress(address);
  return ip ? ip.range() : "invalid";
}

/** An address literal as ipaddr.js reads it (IPv4-mapped IPv6 as its IPv4), or null if it is none. */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  return isIP(bare) ? ipaddr.process(bare) : null;
}

export const isPublicAddress = (address: string): boolean => addressRange(address) === "unicast";

function admittedAddress(address: string, policy: DestinationPolicy): boolean {
  const ip = parseAddress(address);
  if (!ip) return false;
  return policy.allow.some((entry) => {
    if (entry.includes("/")) {
      const [net, bits] = ipaddr.parseCIDR(entry);
      return net.kind() === ip.kind() && ip.match(net, bits);
    }
    const other = parseAddress(entry);
    return other !== null && other.kind() === ip.kind() && other.toString() === ip.toString();
  });
}

/** Why the service may not connect to `address` reached through `host`, or null when it may. */
export function refusalFor(host: string, address: string, policy: DestinationPolicy): string | null {
  if (isPublicAddress(address)) return null;
  if (policy.allow.includes(host.toLowerCase()) || admittedAddress(address, policy)) return null;
  const range = addressRange(address);
  return `${host}${host === address ? "" : ` (${address})`} is not a public address (${range}); an operator can admit internal receivers with WEBHOOK_ALLOWED_DESTINATIONS`;
}

/**
 * Checks a destination URL before it is stored or used: scheme, no credentials, and, when the host is an
 * address literal or a local name, the address itself. Names are checked again on the resolved address at
 * connect time (guardedPost), so a name that later resolves inward is still refused.
 */
export function destinationUrlProblem(raw: string, policy: DestinationPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "not a URL";
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp))
    return `${url.protocol.replace(":", "")}:// is not accepted: use https://${policy.allowHttp ? " or http://" : ""}`;
  if (url.username || url.password) return "credentials in the URL are not accepted";
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (isIP(host)) return refusalFor(host, host, policy);
  if (host === "localhost" || host.endsWith(".localhost") || !host.includes("."))
    return policy.allow.includes(host) ? null : `${host} is a local name; only public hosts are accepted`;
  return null;
}
