// File mode: a job handler run on a model folder, with ports over folders. The CLI's file-mode commands
// (importance, prune, retrain, merge, eval, generate, bench) run the very handlers the workers run; only the
// ports differ: the input version is the folder itself, the artifact store is a scratch folder holding the
// files a spec names (calibration text, training data), resumable state lives in a folder of the caller's
// choosing, and nothing is registered. The caller moves the outputs where it wants them (`publishFolder`).
import { randomBytes } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { LocalStore, ownerAlive, readOwner, writeOwner } from "@shortened/adapters";
import {
  type CheckpointStore,
  type DeviceName,
  type HandlerResult,
  type JobKind,
  type JobSpecInput,
  jobSpecByKind,
  type Ports,
  type ProgressSink,
  type RegistryReader,
  type SpecOf,
  UserError,
  type VersionInfo,
} from "@shortened/contracts";
import { writeFolderAtomically } from "@shortened/hf";
import { handlers } from "./handlers/index.js";
import { specError } from "./submit.js";

const TEAM = "local";

export interface FolderRunOptions {
  /** the model folder: the job's input version */
  model: string;
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** where resumable state is kept between runs of the same command (none: a rerun starts over) */
  stateDir?: string;
  /** an output path: the scratch folder goes beside it (same file system, so outputs move by renaming) */
  near?: string;
  /** other versions a spec names (merge's `adapter`): ref -> a folder or file, resolved as retrained versions */
  versions?: Record<string, string>;
}

/** A spec as a command gives it: a job kind's fields but `kind` and `model` (the folder); for a kind with
 *  variants (evaluate's tasks), one variant's fields. */
export type FolderSpec<K extends JobKind> =
  Extract<JobSpecInput, { kind: K }> extends infer S
    ? S extends unknown
      ? Omit<S, "kind" | "model">
      : never
    : never;

export class FolderRun {
  readonly workDir: string;
  private readonly store: LocalStore;
  private readonly root: string;
  private readonly input: VersionInfo;

  constructor(private readonly opts: FolderRunOptions) {
    const model = resolve(opts.model);
    if (!existsSync(model) || !statSync(model).isDirectory())
      throw new UserError("not_found", `model folder ${opts.model} does not exist`);
    if (opts.near) {
      const out = resolve(opts.near);
      mkdirSync(dirname(out), { recursive: true });
      removeDeadScratch(out);
      this.root = join(
        dirname(out),
        `.${basename(out)}.work-${process.pid}-${randomBytes(4).toString("hex")}`,
      );
      mkdirSync(this.root);
      writeOwner(join(this.root, OWNER));
    } else {
      this.root = mkdtempSync(join(tmpdir(), "shortened-run-"));
    }
    this.workDir = join(this.root, "work");
    mkdirSync(this.workDir);
    this.store = new LocalStore(join(this.root, "store"));
    this.input = {
      id: `folder:${model}`,
      teamId: TEAM,
      modelId: `folder:${model}`,
      modelName: basename(model),
      number: 1,
      kind: "base",
      storagePrefix: model,
      recipe: {},
    };
  }

  /** Puts a local file in the run's store under its own name; returns the key a spec names (`data.artifact`,
   *  `calibration.artifact`). `beside`: a key of an earlier input whose folder this file joins. */
  async addInput(path: string, what: string, beside?: string): Promise<string> {
    if (!existsSync(path) || !statSync(path).isFile())
      throw new UserError("not_found", `${what} ${path} does not exist`);
    const folder = beside ? dirname(beside) : `teams/${TEAM}/inputs/${randomBytes(4).toString("hex")}`;
    const key = `${folder}/${basename(path)}`;
    await this.store.putFile(key, path);
    return key;
  }

  /** Parses the spec as the API would, then runs its kind's handler on the folder. */
  async run<K extends JobKind>(kind: K, spec: FolderSpec<K>): Promise<HandlerResult> {
    const parsed = jobSpecByKind[kind].safeParse({ ...spec, kind, model: this.input.modelName });
    if (!parsed.success) throw specError(parsed.error.issues);
    const handler = handlers[kind] as ((s: SpecOf<K>, p: Ports) => Promise<HandlerResult>) | undefined;
    if (!handler) throw new UserError("bad_request", `job kind ${kind} has no handler`);
    const signal = this.opts.signal ?? new AbortController().signal;
    return handler(parsed.data as SpecOf<K>, {
      artifacts: this.store,
      registry: this.registry(),
      checkpoints: this.checkpoints(),
      progress: this.opts.progress ?? { progress() {}, log() {} },
      signal,
      context: {
        jobId: `file-${randomBytes(6).toString("hex")}`,
        teamId: TEAM,
        workDir: this.workDir,
        input: this.input,
        attempt: 1,
        device: (parsed.data as { device?: DeviceName }).device ?? "cpu",
      },
    });
  }

  /** After success: the resumable state is no longer needed. */
  clearState(): void {
    if (this.opts.stateDir) rmSync(resolve(this.opts.stateDir), { recursive: true, force: true });
  }

  /** Removes the scratch folder (outputs not yet moved out of it go with it). */
  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private registry(): RegistryReader {
    const input = this.input;
    const versions = this.opts.versions ?? {};
    return {
      async resolveVersion(_teamId, ref) {
        const path = versions[ref];
        if (path === undefined) return input;
        if (!existsSync(path)) throw new UserError("not_found", `${path} does not exist`);
        const at = resolve(path);
        return {
          ...input,
          id: `folder:${at}`,
          modelName: basename(at),
          kind: "retrained",
          storagePrefix: at,
        };
      },
      async jobResult() {
        return null;
      },
      async pipelineSteps() {
        return [];
      },
    };
  }

  private checkpoints(): CheckpointStore {
    const model = this.input.storagePrefix;
    const state = this.opts.stateDir ? resolve(this.opts.stateDir) : null;
    return {
      async materialize(version) {
        return version?.storagePrefix ?? model;
      },
      async saveState(_jobId, dir) {
        if (!state) return;
        // Copied beside, then swapped in: a kill at any moment leaves a complete state (new or old).
        const tmp = `${state}.tmp-${process.pid}`;
        const old = `${state}.old-${process.pid}`;
        rmSync(tmp, { recursive: true, force: true });
        cpSync(dir, tmp, { recursive: true });
        if (existsSync(state)) renameSync(state, old);
        renameSync(tmp, state);
        rmSync(old, { recursive: true, force: true });
      },
      async loadState(_jobId, dir) {
        if (!state) return false;
        const found = existsSync(state) ? state : previousState(state);
        if (!found) return false;
        cpSync(found, dir, { recursive: true });
        return true;
      },
    };
  }
}

/** The scratch folder's record of the process that made it (process-owner.ts). */
const OWNER = "owner.json";

/** Scratch folders beside `out` whose run was killed (its process is gone): a run always removes its own. The
 *  owner record decides; a folder without one (a kill right after mkdir) is judged by the pid in its name. */
function removeDeadScratch(out: string): void {
  const prefix = `.${basename(out)}.work-`;
  for (const name of readdirSync(dirname(out))) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(dirname(out), name);
    const owner = readOwner(join(dir, OWNER)) ?? {
      pid: Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1] ?? Number.NaN),
      start: null,
    };
    if (Number.isInteger(owner.pid) && ownerAlive(owner)) continue;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A state folder left aside by a kill between the two renames of saveState. */
function previousState(state: string): string | null {
  const parent = dirname(state);
  if (!existsSync(parent)) return null;
  const old = readdirSync(parent).find((n) => n.startsWith(`${basename(state)}.old-`));
  return old ? join(parent, old) : null;
}

/** Moves a folder made by a handler to `out` (replacing it only with force, checked by the caller). */
export async function publishFolder(from: string, out: string): Promise<void> {
  await writeFolderAtomically(out, async (tmp) => {
    for (const name of readdirSync(from)) renameSync(join(from, name), join(tmp, name));
  });
}
