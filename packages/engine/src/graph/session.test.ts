// Temporary graph folders: one left by a killed process is removed by the next session; a live one is kept.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { removeOrphanedGraphDirs } from "./session.js";

test("graph folders of dead processes are removed, live ones kept", () => {
  const root = mkdtempSync(join(tmpdir(), "orphans-"));
  try {
    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
    mkdirSync(join(root, `shortened-graph-${dead}-abc`));
    mkdirSync(join(root, `shortened-graph-${process.pid}-def`));
    mkdirSync(join(root, "something-else"));
    assert.deepEqual(removeOrphanedGraphDirs(root), [`shortened-graph-${dead}-abc`]);
    assert.ok(!existsSync(join(root, `shortened-graph-${dead}-abc`)));
    assert.ok(existsSync(join(root, `shortened-graph-${process.pid}-def`)));
    assert.ok(existsSync(join(root, "something-else")));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
