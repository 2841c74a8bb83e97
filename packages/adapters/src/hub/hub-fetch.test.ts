// Where the Hub's redirects may lead: checked on the URL and again on the address the socket connects to.
// A loopback "Hub" answers 302 to wherever a test says; names resolve through a stand-in resolver, so no
// connection leaves 127.0.0.1 (a refused name is refused before any socket opens).
import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { HubIntegrityError, hubFetch } from "./hub-fetch.js";

let server: Server;
let endpoint = "";
let port = 0;
let redirectTo = "";
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];

before(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    if (req.url === "/file") return res.writeHead(302, { location: redirectTo }).end();
    res.writeHead(200, { "content-type": "application/octet-stream" }).end("the bytes");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  endpoint = `http://127.0.0.1:${port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** A resolver that answers `address` for every name, and records the names asked. */
const resolver = (address: string, asked: string[]) =>
  ((name: string, _o: unknown, cb: (e: null, a: LookupAddress[]) => void) => {
    asked.push(name);
    cb(null, [{ address, family: address.includes(":") ? 6 : 4 }]);
  }) as never;

const refused = (pattern: RegExp) => (e: Error) => e instanceof HubIntegrityError && pattern.test(e.message);

test("redirects to address literals that are not public are refused before any connection", async () => {
  for (const target of [
    "https://10.0.0.1/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://0x7f.0.0.1/x",
    "http://93.184.216.34/x", // public, but not https
    "https://localhost/x",
  ]) {
    redirectTo = target;
    const before = seen.length;
    await assert.rejects(hubFetch(endpoint)(`${endpoint}/file`), refused(/refused/), target);
    assert.equal(seen.length, before + 1, "only the Hub itself was asked");
  }
});

test("a name is checked on the address it resolves to, at connect time", async () => {
  redirectTo = `http://cdn.hub.test:${port}/object`;
  const http = { allow: [], allowHttp: true };
  // It resolves inward: refused by the lookup, before a socket connects.
  const asked: string[] = [];
  const before = seen.length;
  await assert.rejects(
    hubFetch(endpoint, { outside: http, resolve: resolver("10.1.2.3", asked) })(`${endpoint}/file`),
    refused(/cdn\.hub\.test \(10\.1\.2\.3\) is not a public address/),
  );
  assert.deepEqual(asked, ["cdn.hub.test"]);
  assert.equal(seen.length, before + 1);
  // An admitted address (here loopback, admitted for the test) is connected to, without the Hub's token.
  const ok = await hubFetch(endpoint, {
    outside: { allow: ["127.0.0.1"], allowHttp: true },
    resolve: resolver("127.0.0.1", []),
  })(`${endpoint}/file`, { headers: { authorization: "Bearer hf_secret" } });
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), "the bytes");
  const [hop, cdn] = seen.slice(-2);
  assert.equal(hop!.headers.authorization, "Bearer hf_secret");
  assert.equal(cdn!.path, "/object");
  assert.equal(cdn!.headers.host, `cdn.hub.test:${port}`);
  assert.equal(cdn!.headers.authorization, undefined, "the token stays with the Hub");
});
