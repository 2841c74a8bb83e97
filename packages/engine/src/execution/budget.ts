// The memory budget a run must stay within: the caller's `memoryBudget`, else SHORTENED_MEMORY_BUDGET, else a
// safe share of the memory this machine (or its cgroup) still has available.
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import { formatMemorySize, parseMemorySize } from "./memory-size.js";

export const MEMORY_BUDGET_ENV = "SHORTENED_MEMORY_BUDGET";

/** The share of available memory a run takes by default: the rest stays for the OS, page cache and neighbours. */
export const DEFAULT_SHARE = 0.75;

export interface MemoryBudget {
  bytes: number;
  source: "option" | "env" | "default";
  /** how the default was found, e.g. "75% of 18.20 GB available" */
  note?: string;
}

export function resolveMemoryBudget(memoryBudget?: string | number): MemoryBudget {
  if (memoryBudget !== undefined && memoryBudget !== "")
    return { bytes: parseMemorySize(memoryBudget), source: "option" };
  const env = process.env[MEMORY_BUDGET_ENV];
  if (env !== undefined && env.trim() !== "")
    return { bytes: parseMemorySize(env, MEMORY_BUDGET_ENV), source: "env" };
  const available = availableMemory();
  return {
    bytes: Math.floor(available * DEFAULT_SHARE),
    source: "default",
    note: `${Math.round(DEFAULT_SHARE * 100)}% of ${formatMemorySize(available)} available`,
  };
}

/** Memory available to this process now: MemAvailable (free plus reclaimable cache), bounded by the cgroup's
 *  limit when there is one, plus what this process already holds (it counts in the budget's peak). */
export function availableMemory(): number {
  let available = freemem();
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux: os.freemem() it is
  }
  const cgroup = cgroupHeadroom();
  if (cgroup !== null) available = Math.min(available, cgroup);
  return available + process.memoryUsage.rss();
}

function cgroupHeadroom(): number | null {
  try {
    const max = readFileSync("/sys/fs/cgroup/memory.max", "utf8").trim();
    if (max === "max") return null;
    const current = Number(readFileSync("/sys/fs/cgroup/memory.current", "utf8").trim());
    return Math.max(0, Number(max) - current);
  } catch {
    return null;
  }
}
