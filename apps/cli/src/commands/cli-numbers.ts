// Parsing numeric and list flags inside a command's work (so bad values are UserErrors → exit 2).
import { UserError } from "@shortened/contracts";

export function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()))
    throw new UserError("bad_request", `${name} must be an integer (got "${value}")`);
  return Number(value);
}

export function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v))
    throw new UserError("bad_request", `${name} must be a number (got "${value}")`);
  return v;
}

export function intListFlag(name: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.some((p) => !/^-?\d+$/.test(p))) {
    throw new UserError("bad_request", `${name} must be a comma-separated list of integers (got "${value}")`);
  }
  return parts.map(Number);
}

export function choiceFlag<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UserError("bad_request", `${name} must be one of ${choices.join("|")} (got "${value}")`);
  }
  return value as T;
}
