// GET /v1/metrics/compare?versions=a,b[,c][&metric=NAME]: metrics side by side, only on equal protocols.
// A requested metric that is not comparable, or a comparison with nothing comparable, is refused
// (409 incomparable) with the protocol fields that differ.
import { listMetrics, resolveVersion } from "@shortened/adapters";
import { CompareQuery, UserError } from "@shortened/contracts";
import { compareVersions, type MetricRow } from "@shortened/jobs";
import type { FastifyInstance } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import type { ApiDeps } from "./context.js";

export function compareRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.get("/v1/metrics/compare", async (req) => {
    const team = teamOf(req);
    const q = parseWith(CompareQuery, req.query, "query");
    const versions = [];
    for (const ref of q.versions) {
      const v = await resolveVersion(d.db, team, ref);
      versions.push({ id: v.id, label: `${v.modelName}@${v.number}` });
    }
    const metrics = new Map<string, MetricRow[]>();
    for (const v of versions)
      metrics.set(v.id, (await listMetrics(d.db, team, { versionId: v.id })) as MetricRow[]);
    const { rows, refused } = compareVersions(versions, metrics, q.metric);
    if ((q.metric && refused.length) || (rows.length === 0 && refused.length)) {
      const e = new UserError("incomparable", refused.map((r) => r.reason).join("; "), 409);
      (e as UserError & { details?: unknown }).details = { refused };
      throw e;
    }
    return { versions, rows, notComparable: refused };
  });
}
