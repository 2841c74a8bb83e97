import { createHash, randomBytes } from "node:crypto";

// Within one process ids must also sort in creation order inside a millisecond (a pipeline creates its steps
// in the same millisecond and reads them back ordered by id), so the 12 bits after the version are a counter
// (RFC 9562 §6.2, method 1) that starts at a random value below 2048 in each new millisecond.
let lastMs = -1;
let counter = 0;

/** A UUIDv7 (RFC 9562): 48-bit millisecond time, a 12-bit sequence, then random bits; sorts by creation. */
export function uuidv7(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff;
  } else if (++counter > 0xfff) {
    lastMs += 1; // the sequence ran out: borrow the next millisecond, as the RFC allows
    counter = 0;
  }
  const b = randomBytes(16);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const isUuid = (s: string) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/** API keys: `sk_` + 32 random bytes; only the SHA-256 is stored. */
export function newApiKey(): { key: string; prefix: string; hash: string } {
  const key = `sk_${randomBytes(32).toString("base64url")}`;
  return { key, prefix: key.slice(0, 10), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Canonical JSON (sorted keys) and its hash: equal protocols hash equal. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

export function protocolHash(protocol: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(protocol)).digest("hex").slice(0, 32);
}
