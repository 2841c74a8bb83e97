// Every importance criterion of the contracts (Taylor+ included) runs as a job (submission, runner, registry)
// and in file mode (FolderRun: the CLI's path) with the same numbers, equal to the oracle's fixtures.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { LocalStore, type OpenedDb, openPglite } from "@shortened/adapters";
import { Criterion } from "@shortened/contracts";
import { InProcessDispatcher, localTeamId } from "./embedded.js";
import { FolderRun } from "./folder-run.js";
import { registerFromFolder } from "./models.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup } from "./test-support/embedded-setup.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const FIX = join(root, "packages/engine/src/fixtures/engine");
const json = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** The oracle's result of a criterion: the forward ones on llama8 (calib.json), Taylor+ on the train fixture. */
const cases = Criterion.options.map((criterion) => {
  if (criterion === "taylor") {
    const f = json(join(root, "packages/engine/src/fixtures/train/llama.json"));
    return {
      criterion,
      model: join(root, f.model),
      rows: f.calib as number[][],
      batchSize: f.taylor.batch_size as number,
      scores: f.taylor.block_scores as number[],
      order: f.taylor.block_order as number[],
      tolerance: 1e-3,
    };
  }
  if (criterion === "sleb") {
    // composed from oracle prune + ppl runs (scripts/fixtures/sleb_fixtures.py), the "+" rule keeping 1 and 1
    const f = json(join(FIX, "cases/llama8/sleb_k1_1.json"));
    const sequence = f.sequence as number[];
    const first = f.steps[0].scores as number[];
    const scores = first.map((s, b) => {
      const k = sequence.indexOf(b);
      return k < 0 ? s : (f.steps[k].ppl_after as number);
    });
    const protectedBlocks = [0, 7].sort((a, b) => first[a]! - first[b]! || a - b);
    return {
      criterion,
      model: join(FIX, "models/llama8"),
      rows: json(join(FIX, "calib.json")).batch as number[][],
      batchSize: 10,
      keep: { keepFirst: 1, keepLast: 1 },
      scores,
      order: [...sequence, ...protectedBlocks],
      orderPlus: sequence,
      tolerance: 1e-4,
    };
  }
  const ref = json(join(FIX, `cases/llama8/importance_${criterion}.json`));
  return {
    criterion,
    model: join(FIX, "models/llama8"),
    rows: json(join(FIX, "calib.json")).batch as number[][],
    batchSize: 10,
    scores: ref.block_scores as number[],
    order: ref.block_order as number[],
    tolerance: 1e-4,
  };
});

describe("every criterion as a job and in file mode", { timeout: 600_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let dispatcher: InProcessDispatcher;
  let teamId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "shortened-criteria-"));
    db = await openPglite("memory://");
    const store = new LocalStore(join(dir, "artifacts"));
    teamId = await localTeamId(db.prisma);
    const taylor = cases.find((c) => c.criterion === "taylor")!;
    await registerFromFolder(db.prisma, store, {
      teamId,
      name: "train",
      dir: taylor.model,
      sourceUri: "test",
    });
    await registerFromFolder(db.prisma, store, {
      teamId,
      name: "llama8",
      dir: cases[0]!.model,
      sourceUri: "t",
    });
    dispatcher = new InProcessDispatcher(db.prisma, store, join(dir, "cache"), {});
  });
  after(() => closeEmbeddedSetup(db, dir));

  for (const c of cases) {
    it(`${c.criterion}: the job's scores equal file mode's and the oracle's`, async () => {
      const fields = {
        criterion: c.criterion,
        calibration: { ids: c.rows, seqLen: c.rows[0]!.length },
        batchSize: c.batchSize,
        threads: 1,
        ...("keep" in c ? c.keep : {}),
      };
      const { job } = await submitJob(db.prisma, dispatcher, teamId, {
        kind: "importance",
        model: c.criterion === "taylor" ? "train" : "llama8",
        ...fields,
      });
      const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
      assert.equal(done.state, "succeeded", done.reason ?? "");
      const viaJob = done.result as { scores: number[]; order: number[]; orderPlus: number[] };

      const run = new FolderRun({ model: c.model });
      let viaFolder: { scores: number[]; order: number[]; orderPlus: number[] };
      try {
        viaFolder = (await run.run("importance", fields)).summary as typeof viaFolder;
      } finally {
        run.close();
      }
      assert.deepEqual(viaFolder.scores, viaJob.scores);
      assert.deepEqual(viaFolder.orderPlus, viaJob.orderPlus);
      for (const [i, s] of viaJob.scores.entries())
        assert.ok(rel(s, c.scores[i]!) < c.tolerance, `block ${i}: ${s} vs oracle ${c.scores[i]}`);
      assert.deepEqual(viaJob.order, c.order);
      if ("orderPlus" in c) assert.deepEqual(viaJob.orderPlus, c.orderPlus);
    });
  }
});
