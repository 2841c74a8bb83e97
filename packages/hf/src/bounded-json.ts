// JSON from a checkpoint file (config.json, a safetensors header, a shard index), parsed only within bounds:
// a size limit and a nesting-depth limit, checked by one linear scan before JSON.parse, so a 200,000-deep
// nesting is a clean error instead of a stack overflow later (printing, storing, copying the value).
import { UserError } from "@shortened/contracts";

export interface JsonBounds {
  /** largest accepted text, in bytes */
  maxBytes: number;
  /** deepest accepted nesting of objects and arrays (a flat object is depth 1) */
  maxDepth: number;
}

/** Parses `text` (already decoded) as JSON within `bounds`; `what` names the file in error messages. */
export function parseBoundedJson(text: string, bounds: JsonBounds, what: string): unknown {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > bounds.maxBytes) {
    throw new UserError(
      "invalid_checkpoint",
      `${what} is ${bytes} bytes, more than the ${bounds.maxBytes} accepted`,
    );
  }
  const depth = nestingDepth(text, bounds.maxDepth);
  if (depth > bounds.maxDepth) {
    throw new UserError(
      "invalid_checkpoint",
      `${what} nests objects or arrays more than ${bounds.maxDepth} levels deep`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError("invalid_checkpoint", `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The deepest nesting of [ and { outside strings, scanning no further than one level past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Decodes bytes as UTF-8, refusing invalid sequences (a replacement character would silently rename a tensor). */
export function decodeUtf8Strict(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UserError("invalid_checkpoint", `${what} is not valid UTF-8`);
  }
}
