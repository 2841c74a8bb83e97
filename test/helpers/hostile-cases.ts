// The cases of the hostile-request fuzzer (test/hostile-requests.e2e.test.ts): generic ones made for every
// route of the route table (ids, URLs, bodies), and the known attacks of issue 12 (cross-team sources,
// SSRF, out-of-range job specs, bigints, NUL bytes, malformed cursors).
import type { RouteEntry } from "@shortened/api";
import type { TeamsRig } from "./teams-app.js";

export interface HostileCase {
  what: string;
  method: string;
  path: string;
  /** A raw body (sent as application/json unless headers say otherwise). */
  body?: string;
  headers?: Record<string, string>;
  /** The key to send: default team A's admin key; null sends none. */
  key?: string | null;
  /** The statuses accepted (default: any 4xx). */
  expect?: number[];
}

const bodyMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const longId = "a".repeat(10_000);

/** Every `:param` of a route replaced by `value`. */
const fill = (url: string, value: string) => url.replace(/:\w+/g, value);

function perRoute(r: RouteEntry, known: string): HostileCase[] {
  const cases: HostileCase[] = [];
  const at = (what: string, path: string, more: Partial<HostileCase> = {}): HostileCase => ({
    what,
    method: r.method,
    path,
    ...(bodyMethods.has(r.method) ? { body: "{}" } : {}),
    ...more,
  });
  const real = fill(r.url, known);
  cases.push(at("NUL in the query", `${real}?x=%00`, { expect: [400] }));
  cases.push(
    at("NUL in the query value of a known field", `${real}?cursor=%00&limit=%00`, { expect: [400] }),
  );
  cases.push(at("malformed percent-encoding in the path", `${real}/%zz`, { expect: [400, 404] }));
  if (r.url.includes(":")) {
    // 431 when two ids make the URL longer than the 16 KiB the HTTP parser reads.
    cases.push(at("a 10,000-character id", fill(r.url, longId), { expect: [414, 431] }));
    cases.push(at("a NUL byte in an id", fill(r.url, "x%00y"), { expect: [400] }));
    cases.push(at("a malformed escape in an id", fill(r.url, "%zz"), { expect: [400] }));
    cases.push(at("SQL in an id", fill(r.url, encodeURIComponent("' OR '1'='1")), { expect: [400, 404] }));
    cases.push(at("path traversal in an id", fill(r.url, "..%2F..%2Fetc%2Fpasswd"), { expect: [400, 404] }));
    cases.push(at("an emoji id", fill(r.url, encodeURIComponent("💥")), { expect: [400, 404] }));
    cases.push(at("a bigint-sized number id", fill(r.url, "99999999999999999999"), { expect: [400, 404] }));
  }
  if (r.url.startsWith("/v1/")) {
    cases.push(
      at("a malformed Authorization header", real, { key: null, headers: { authorization: "Basic x" } }),
    );
    cases.push(at("an empty bearer key", real, { key: null, headers: { authorization: "Bearer " } }));
    cases.push(at("a huge bearer key", real, { key: "sk_" + "x".repeat(6000), expect: [401] }));
  }
  // Signing out reads no body: whatever it holds, there is nothing to refuse.
  if (bodyMethods.has(r.method) && r.url !== "/session") {
    cases.push(at("malformed JSON", real, { body: '{"a": ', expect: [400, 404] }));
    cases.push(at("a JSON string body", real, { body: '"x"', expect: [400, 404] }));
    cases.push(at("a JSON array body", real, { body: "[1,2]", expect: [400, 404] }));
    cases.push(at("a NUL string in the body", real, { body: '{"name": "a\\u0000b"}', expect: [400, 404] }));
    cases.push(at("a NUL key in the body", real, { body: '{"a\\u0000": 1}', expect: [400, 404] }));
    cases.push(
      at("deeply nested JSON", real, {
        body: `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
        expect: [400, 404],
      }),
    );
    cases.push(
      at("a form-encoded body", real, {
        body: "a=1",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        expect: [400, 404, 415],
      }),
    );
    cases.push(
      at("a body over the limit", real, {
        body: `{"x": "${"y".repeat(1_100_000)}"}`,
        expect: [400, 404, 413],
      }),
    );
  }
  return cases;
}

function listQueries(rig: TeamsRig): HostileCase[] {
  const lists = ["/v1/jobs", "/v1/models", "/v1/audit", "/v1/shared/models"];
  const values = [
    "cursor=not-a-cursor",
    "cursor=1",
    "cursor=" + encodeURIComponent("' OR 1=1 --"),
    "limit=0",
    "limit=-5",
    "limit=1000000",
    "limit=abc",
    "limit=1e400",
    "updatedSince=yesterday",
    "zzz=1",
  ];
  const cases: HostileCase[] = [];
  for (const l of lists)
    for (const v of values) {
      if (v.startsWith("updatedSince") && !["/v1/jobs", "/v1/models"].includes(l)) continue;
      cases.push({ what: `list query ${v}`, method: "GET", path: `${l}?${v}`, expect: [400] });
    }
  void rig;
  return cases;
}

function eventCursors(jobId: string): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const v of ["99999999999999999999", "9223372036854775808", "-1", "1.5", "abc", "0x10", "%00"]) {
    cases.push({
      what: `events after=${v}`,
      method: "GET",
      path: `/v1/jobs/${jobId}/events?after=${v}`,
      expect: [400],
    });
    cases.push({
      what: `stream lastEventId=${v}`,
      method: "GET",
      path: `/v1/jobs/${jobId}/stream?lastEventId=${v}`,
      expect: [400],
    });
    if (v !== "%00")
      cases.push({
        what: `stream Last-Event-ID: ${v}`,
        method: "GET",
        path: `/v1/jobs/${jobId}/stream`,
        headers: { "last-event-id": v },
        expect: [400],
      });
  }
  return cases;
}

function webhookTargets(): HostileCase[] {
  const urls = [
    "https://127.0.0.2/",
    "https://127.2/",
    "https://2130706434/",
    "https://0x7f000002/",
    "https://0.0.0.0/",
    "https://[::1]/",
    "https://[::]/",
    "https://[::ffff:127.0.0.3]/",
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://192.168.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",
    "https://[fc00::1]/",
    "https://[fe80::1]/",
    "https://localhost:6379/",
    "https://localhost:5432/",
    "https://redis:6379/",
    "http://10.0.0.2/",
    "https://user:pass@hooks.example.com/",
    "ftp://hooks.example.com/",
    "javascript:alert(1)",
  ];
  return urls.map((url) => ({
    what: `webhook to ${url}`,
    method: "POST",
    path: "/v1/webhooks",
    body: JSON.stringify({ url }),
    expect: [400, 422],
  }));
}

function jobSpecs(rig: TeamsRig): HostileCase[] {
  const v = rig.model.versionId;
  const specs: Record<string, unknown>[] = [
    { kind: "nope", model: v },
    { kind: "prune", model: "no-such-model", blocks: [1] },
    { kind: "prune", model: v },
    { kind: "prune", model: v, blocks: [] },
    { kind: "prune", model: v, blocks: [-1] },
    { kind: "prune", model: v, blocks: [1.5] },
    { kind: "prune", model: v, blocks: ["1"] },
    { kind: "prune", model: v, count: -1 },
    { kind: "prune", model: `${v}\u0000`, blocks: [1] },
    { kind: "evaluate", model: v, task: "generate", prompts: ["a\u0000b"] },
    { kind: "evaluate", model: v, seqLen: 1e12 },
    { kind: "evaluate", model: v, seqLen: "128" },
    { kind: "retrain", model: v, method: "lora", data: { dataset: "nope" } },
    { kind: "retrain", model: v, method: "lora", data: { ids: [[1, 2]] }, steps: -1 },
    { kind: "retrain", model: v, method: "magic", data: { dataset: "alpaca" } },
    { kind: "pipeline", model: v },
    { kind: "evaluate", model: v, extra: 1 },
    // What the registry knows about the 8-block demo model (vocabulary 512, 512 positions).
    { kind: "prune", model: v, blocks: [99] },
    { kind: "prune", model: v, blocks: [8] },
    { kind: "prune", model: v, blocks: [3, 3] },
    { kind: "prune", model: v, blocks: [0, 1, 2, 3, 4, 5, 6, 7] },
    { kind: "prune", model: v, count: 99 },
    { kind: "prune", model: v, count: 8 },
    { kind: "prune", model: v, count: 3 },
    { kind: "prune", model: v, count: 2, importanceJob: "01a23d31-0000-7000-8000-000000000000" },
    { kind: "prune", model: v, count: 2, importanceJob: "../../x" },
    { kind: "retrain", model: v, method: "lora", data: { dataset: "alpaca" }, targets: ["nope_proj"] },
    { kind: "retrain", model: v, method: "lora", data: { ids: [[1, 512]] } },
    { kind: "retrain", model: v, method: "lora", data: { ids: [[1, 99999999]] } },
    { kind: "retrain", model: v, method: "lora", data: { dataset: "alpaca" }, seqLen: 4096 },
    { kind: "retrain", model: v, method: "lora", data: { artifact: "teams/../../etc/passwd" } },
    {
      kind: "retrain",
      model: v,
      method: "lora",
      data: { artifact: `teams/${rig.b.teamId}/jobs/x/out/a.json` },
    },
    {
      kind: "retrain",
      model: v,
      method: "lora",
      data: { artifact: `teams/${rig.a.teamId}/../${rig.b.teamId}/a` },
    },
    { kind: "evaluate", model: v, seqLen: 1024 },
    { kind: "importance", model: v, calibration: { n: 2, seqLen: 4096 } },
    { kind: "pipeline", model: v, prune: { blocks: [42] } },
    {
      kind: "pipeline",
      model: v,
      prune: { count: 2 },
      retrain: { data: { dataset: "alpaca" }, targets: ["x"] },
    },
    { kind: "pipeline", model: v, prune: { blocks: [1] }, evaluate: [{ task: "ppl", seqLen: 2048 }] },
  ];
  const cases: HostileCase[] = specs.map((s) => ({
    what: `job spec ${JSON.stringify(s).slice(0, 80)}`,
    method: "POST",
    path: "/v1/jobs",
    body: JSON.stringify(s),
    expect: [400, 404, 422],
  }));
  cases.push({
    what: "an overlong Idempotency-Key",
    method: "POST",
    path: "/v1/jobs",
    body: JSON.stringify({ kind: "evaluate", model: rig.model.versionId }),
    headers: { "idempotency-key": "k".repeat(5000) },
    expect: [400, 404],
  });
  return cases;
}

function registrations(rig: TeamsRig): HostileCase[] {
  const bodies = [
    { name: "x" },
    { name: "x", uri: "http://example.com/model" },
    { name: "x", uri: "s3://" },
    { name: "x", uri: `file:///etc/passwd` },
    { name: "", uri: "s3://bucket/p" },
    { name: "a\u0000b", uri: "s3://bucket/p" },
    { name: "../../x", uri: "s3://bucket/p" },
    { name: "x".repeat(5000), uri: "s3://bucket/p" },
    { name: "x", uri: `s3://bucket/${"p".repeat(5000)}` },
  ];
  const cases: HostileCase[] = bodies.map((b) => ({
    what: `register ${JSON.stringify(b).slice(0, 60)}`,
    method: "POST",
    path: "/v1/models",
    body: JSON.stringify(b),
    expect: [400, 422],
  }));
  for (const q of ["", "name=", "name=a%00b", "name=../x", `name=${"x".repeat(500)}`])
    cases.push({
      what: `upload ?${q.slice(0, 40)}`,
      method: "POST",
      path: `/v1/models/upload?${q}`,
      body: "x",
      headers: { "content-type": "application/x-tar" },
      expect: [400, 422],
    });
  void rig;
  return cases;
}

export function hostileCases(rig: TeamsRig, routes: RouteEntry[]): HostileCase[] {
  const known = "01a23d31-0000-7000-8000-000000000000"; // a well-formed id nobody has
  return [
    ...routes.flatMap((r) => perRoute(r, known)),
    ...listQueries(rig),
    ...eventCursors(known),
    ...webhookTargets(),
    ...jobSpecs(rig),
    ...registrations(rig),
  ];
}
