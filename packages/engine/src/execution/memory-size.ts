// Memory sizes as people write them ("4G", "2.5G", "2560M", "512MiB", "1073741824") and as they read them.
import { UserError } from "@shortened/contracts";

const UNIT: Record<string, number> = { "": 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Bytes of a size written with a binary unit suffix (K, M, G, T; "KB"/"KiB" alike); `field` names the
 *  option in the error. */
export function parseMemorySize(text: string | number, field = "memoryBudget"): number {
  if (typeof text === "number") {
    if (Number.isFinite(text) && text > 0) return Math.floor(text);
    throw new UserError("bad_request", `\`${field}\` must be a positive size (got ${text})`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  const bytes = m ? Number(m[1]) * UNIT[m[2]!.toUpperCase()]! : Number.NaN;
  if (!(bytes >= 1)) {
    throw new UserError(
      "bad_request",
      `\`${field}\` must be a size such as 4G, 2.5G or 2560M (got ${JSON.stringify(text)})`,
    );
  }
  return Math.floor(bytes);
}

/** "2.50 GB"-style text (binary units, as parseMemorySize reads them). */
export function formatMemorySize(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(0)} MB`;
  return `${Math.ceil(bytes / 2 ** 10)} KB`;
}

/** The size rounded up to a budget one can type (e.g. "3.2G"). */
export function budgetFlagValue(bytes: number): string {
  return `${Math.ceil((bytes / 2 ** 30) * 10) / 10}G`;
}
