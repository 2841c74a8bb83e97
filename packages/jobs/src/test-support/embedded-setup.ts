// The setup the embedded-mode tests share: PGlite in memory, a local-folder artifact store in a fresh temp
// folder, the shipped demo model registered as "tiny" in the local team, and a dispatcher that runs jobs in
// this process (its cache in <dir>/cache).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalStore, type OpenedDb, openPglite } from "@shortened/adapters";
import { InProcessDispatcher, localTeamId } from "../embedded.js";
import { registerFromFolder } from "../models.js";

export const DEMO_MODEL = fileURLToPath(new URL("../../../../models/tinystories-llama-8L", import.meta.url));

export interface EmbeddedSetup {
  db: OpenedDb;
  /** the temp folder; artifacts live in <dir>/artifacts */
  dir: string;
  store: LocalStore;
  teamId: string;
  /** the registered demo model's version */
  baseId: string;
  /** runs dispatched jobs in this process, cache in <dir>/cache */
  dispatcher: InProcessDispatcher;
}

export async function openEmbeddedSetup(tmpPrefix: string): Promise<EmbeddedSetup> {
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const db = await openPglite("memory://");
  const store = new LocalStore(join(dir, "artifacts"));
  const teamId = await localTeamId(db.prisma);
  const { version } = await registerFromFolder(db.prisma, store, {
    teamId,
    name: "tiny",
    dir: DEMO_MODEL,
    sourceUri: "test",
  });
  const dispatcher = new InProcessDispatcher(db.prisma, store, join(dir, "cache"), {});
  return { db, dir, store, teamId, baseId: version.id, dispatcher };
}

/** Closes the database and removes the temp folder (either may be missing when the setup failed). */
export async function closeEmbeddedSetup(db: OpenedDb | undefined, dir: string | undefined): Promise<void> {
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** The bytes of a registered version's file, read from the local artifact store. */
export async function readVersionFile(
  setup: Pick<EmbeddedSetup, "db" | "store">,
  versionId: string,
  name: string,
): Promise<Buffer> {
  const f = await setup.db.prisma.artifact.findFirstOrThrow({ where: { versionId, name } });
  return readFileSync(setup.store.pathOf(f.key));
}
