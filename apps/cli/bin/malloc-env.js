// Which `shortened` runs start with glibc's malloc thresholds fixed: the rule is shared with the worker's job
// processes (@shortened/contracts/malloc-env); this file only reads it off the command line.
import { budgetedMallocEnv } from "@shortened/contracts/malloc-env";

/** The variables to add for `shortened ARGV…` in this environment: a `retrain …` run under `--memory-budget`
 *  (or SHORTENED_MEMORY_BUDGET) gets the fixed thresholds. */
export function cliMallocEnv(argv, env) {
  const memoryBudget = argv.some((a) => a === "--memory-budget" || a.startsWith("--memory-budget="));
  return budgetedMallocEnv({ training: argv[0] === "retrain", memoryBudget }, env);
}
