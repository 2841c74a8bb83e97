import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { it } from "node:test";
import { stableReason } from "./stable-reason.js";

it("shows the scratch folder, the cache and temp folders by stable names", () => {
  const cache = `${tmpdir()}/shortened-cache-x1/w0`;
  const work = `${cache}/work/0190aaaa-2`;
  const places: [string, string][] = [
    [work, "work"],
    [cache, "cache"],
  ];
  assert.equal(
    stableReason(`ENOENT: no such file or directory, open '${work}/out/model.safetensors'`, places),
    "ENOENT: no such file or directory, open 'work/out/model.safetensors'",
  );
  assert.equal(
    stableReason(`cannot read ${cache}/teams/t/models/m/config.json: bad`, places),
    "cannot read cache/teams/t/models/m/config.json: bad",
  );
  assert.equal(
    stableReason(`EACCES, mkdir '${tmpdir()}/other-proc-9/deep/x.bin'`, places),
    "EACCES, mkdir 'tmp/…/x.bin'",
  );
  assert.equal(stableReason("blocks 9 out of range", places), "blocks 9 out of range");
});

it("keeps only what failed of a Prisma error (no source path or code excerpt)", () => {
  const prisma = [
    "",
    "Invalid `tx.modelVersion.create()` invocation in",
    "/srv/app/packages/adapters/src/registry/models.ts:94:26",
    "",
    "  91   where: { modelId: parent.modelId },",
    '  92   orderBy: { number: "desc" },',
    "  93 });",
    "→ 94 return tx.modelVersion.create(",
    "Unique constraint failed on the constraint: `ModelVersion_modelId_number_key`",
  ].join("\n");
  assert.equal(
    stableReason(prisma, []),
    "database error: Unique constraint failed on the constraint: `ModelVersion_modelId_number_key`",
  );
});
