/** see malloc-env.js */
export function budgetedMallocEnv(
  run: { training: boolean; memoryBudget?: string | boolean },
  env: Record<string, string | undefined>,
): Record<string, string>;
