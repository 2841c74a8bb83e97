import type { PrismaClient } from "@shortened/adapters";
import type { ArtifactStore, JobKind } from "@shortened/contracts";
import type { Dispatcher } from "@shortened/jobs";
import type { TeamOptions } from "../teams-features.js";
import type { WebOptions } from "../web/index.js";

export interface ApiDeps {
  db: PrismaClient;
  store: ArtifactStore;
  dispatcher: Dispatcher;
  /** Checks each dependency; a rejected promise marks the service not ready. */
  readiness: Record<string, () => Promise<unknown>>;
  /** Largest model upload accepted, in bytes. */
  uploadLimitBytes: number;
  /** Largest JSON body accepted, in bytes. */
  bodyLimitBytes: number;
  /** Job kinds this deployment runs (default: every kind with a handler). */
  kinds?: JobKind[];
  /** Lifetime of presigned download URLs, in seconds. */
  urlExpirySeconds: number;
  /** Team features (rate limits, webhooks, SSE polling); defaults in teams-features.ts. */
  teams?: Partial<TeamOptions>;
  /** The dashboard and its cookie sessions; defaults in web/index.ts. */
  web?: WebOptions;
}
