// /v1/metrics: measured values, each with its protocol, and versions compared side by side on equal
// protocols only. A requested metric that is not comparable, or a comparison with nothing comparable, is
// refused (409 incomparable) with the protocol fields that differ.
import { listMetrics, resolveVersion } from "@shortened/adapters";
import { CompareQuery, Comparison, ListMetricsQuery, MetricList, UserError } from "@shortened/contracts";
import { compareVersions, type MetricRow } from "@shortened/jobs";
import { teamOf } from "../plugins/auth.js";
import { errors, json } from "../route-schema.js";
import { metricJson } from "../serialize.js";
import { v1Routes } from "./route-plugin.js";

const tags = ["metrics"];

export const metricRoutes = v1Routes("metrics", (app, d) => {
  app.get(
    "/metrics",
    {
      schema: {
        operationId: "listMetrics",
        summary: "metrics by version, job or name, each with its protocol",
        tags,
        querystring: ListMetricsQuery,
        response: { 200: json(MetricList, "the metrics") },
      },
      config: { role: "member" },
    },
    async (req) => ({ items: (await listMetrics(d.db, teamOf(req), req.query)).map(metricJson) }),
  );

  app.get(
    "/metrics/compare",
    {
      schema: {
        operationId: "compareVersions",
        summary: "metrics of versions side by side, on equal protocols only",
        tags,
        querystring: CompareQuery,
        response: {
          200: json(Comparison, "the comparable metrics, and why the others are not"),
          ...errors(
            [404, "no such version in the caller's team"],
            [409, "not comparable (different protocols): says which fields differ"],
          ),
        },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const versions = [];
      for (const ref of req.query.versions) {
        const v = await resolveVersion(d.db, team, ref);
        versions.push({ id: v.id, label: `${v.modelName}@${v.number}` });
      }
      const metrics = new Map<string, MetricRow[]>();
      for (const v of versions)
        metrics.set(v.id, (await listMetrics(d.db, team, { versionId: v.id })) as MetricRow[]);
      const { rows, refused } = compareVersions(versions, metrics, req.query.metric);
      if ((req.query.metric && refused.length) || (rows.length === 0 && refused.length)) {
        const e = new UserError("incomparable", refused.map((r) => r.reason).join("; "), 409);
        (e as UserError & { details?: unknown }).details = { refused };
        throw e;
      }
      return { versions, rows, notComparable: refused };
    },
  );
});
