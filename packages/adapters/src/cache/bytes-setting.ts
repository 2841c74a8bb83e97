// A size setting from the environment (a cache's bound, a model's budget): a positive number of bytes, or
// the default when unset. A bad value stops the process at start with the setting's name, never at the first job.
export function bytesSetting(env: NodeJS.ProcessEnv, name: string, def: number): number {
  const v = env[name]?.trim();
  if (!v) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: ${v} is not a positive number of bytes`);
  return n;
}
