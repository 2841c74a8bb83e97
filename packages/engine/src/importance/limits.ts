// The options every importance criterion shares (forward ones in ./block-importance.ts, taylor in
// ./taylor-criterion.ts), checked the same way before any compute.
import { UserError } from "@shortened/contracts";

export interface ImportanceLimits {
  keepFirst: number;
  keepLast: number;
  batchSize: number;
}

/** Defaults: keep the first 4 and last 2 blocks in the "+" order; 10 calibration rows per run. */
export function importanceLimits(opts: Partial<ImportanceLimits>): ImportanceLimits {
  const keepFirst = opts.keepFirst ?? 4;
  const keepLast = opts.keepLast ?? 2;
  for (const [k, v] of [
    ["keepFirst", keepFirst],
    ["keepLast", keepLast],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new UserError("bad_request", `\`${k}\` must be a non-negative integer (got ${v})`);
  }
  const batchSize = opts.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UserError("bad_request", "`batchSize` must be a positive integer");
  return { keepFirst, keepLast, batchSize };
}
