// What registering, downloading and pushing Hub models needs, from the environment: HF_ENDPOINT and the
// budgets (hub-fetch.ts), HF_CACHE_DIR (the download cache; a worker keeps it under its WORKER_CACHE_DIR)
// and SECRETS_KEY (to open the team's Hub token).
import { tmpdir } from "node:os";
import { join } from "node:path";
import { secretsKeyFromEnv } from "../registry/secrets.js";
import { HubCache } from "./hub-cache.js";
import { type HubConfig, hubConfigFromEnv } from "./hub-fetch.js";

export interface HubDeps {
  config: HubConfig;
  cache: HubCache;
  secretsKey: Buffer | null;
}

export function hubDepsFromEnv(env: NodeJS.ProcessEnv = process.env, cacheDir?: string): HubDeps {
  const config = hubConfigFromEnv(env);
  return {
    config,
    cache: new HubCache(env.HF_CACHE_DIR || cacheDir || join(tmpdir(), "shortened-hub"), config),
    secretsKey: secretsKeyFromEnv(env),
  };
}
