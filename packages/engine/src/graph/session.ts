// Session helpers: one place that knows how to turn a GraphBuilder into an onnxruntime-node session,
// which execution provider to use, and how many threads.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import "./ort-telemetry.js";
import ort from "onnxruntime-node";
import { type GraphBuilder, tensorBytes } from "./builder.js";
import { pretransposeWeights } from "./pretranspose.js";
import { type SessionPurpose, usesCpuArena } from "./session-purpose.js";

export type { SessionPurpose } from "./session-purpose.js";

export type Device = "cpu" | "cuda";

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads; 0 or undefined lets ONNX Runtime choose (all cores). */
  threads?: number;
  /** what the session is for: decides whether it uses ONNX Runtime's CPU arena (./session-purpose.ts); none: the
   *  arena, as ONNX Runtime's default (small sessions: tests, one-off probes) */
  purpose?: SessionPurpose;
}

/** Models at least this large are loaded from a file with external data instead of from a buffer. */
const INLINE_LIMIT_BYTES = 256 * 1024 * 1024;

export async function createSession(
  graph: GraphBuilder,
  opts: SessionOptions = {},
): Promise<ort.InferenceSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [opts.device ?? "cpu"],
    graphOptimizationLevel: "all",
    ...(opts.purpose && !usesCpuArena(opts.purpose) ? { enableCpuMemArena: false } : {}),
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
  };
  // Checkpoint weights read through a Transpose go to the session transposed, mapped from the file as they are.
  pretransposeWeights(graph);
  let weightBytes = 0;
  for (const t of graph.initializers.values()) weightBytes += tensorBytes(t);
  try {
    if (weightBytes < INLINE_LIMIT_BYTES)
      return await ort.InferenceSession.create(graph.toBytes(), sessionOptions);
    // ORT reads external data by path; the folder can go once the session holds the weights. Its name carries
    // our pid, so a folder left by a killed process is found and removed by the next one.
    removeOrphanedGraphDirs();
    const dir = mkdtempSync(join(tmpdir(), `${GRAPH_DIR_PREFIX}${process.pid}-`));
    try {
      const modelPath = join(dir, "model.onnx");
      writeFileSync(modelPath, graph.toBytes(join(dir, "model.onnx.data")));
      return await ort.InferenceSession.create(modelPath, sessionOptions);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } catch (e) {
    if (opts.device === "cuda" && /cuda|shared library|provider/i.test(String(e)))
      throw new UserError(
        "bad_request",
        "the CUDA execution provider is not installed for onnxruntime-node (see README: GPU workers)",
      );
    throw e;
  }
}

const GRAPH_DIR_PREFIX = "shortened-graph-";

/** Removes temporary graph folders whose process is gone (killed between writing and loading its graph). */
export function removeOrphanedGraphDirs(dir = tmpdir()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = new RegExp(`^${GRAPH_DIR_PREFIX}(\\d+)-`).exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export { ort };
