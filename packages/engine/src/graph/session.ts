// Session helpers: one place that knows how to turn a GraphBuilder into an onnxruntime-node session,
// which execution provider to use, and how many threads.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import "./ort-telemetry.js";
import ort from "onnxruntime-node";
import { type GraphBuilder, tensorBytes } from "./builder.js";
import { referCachedWeights } from "./cached-weights.js";
import { pretransposeWeights } from "./pretranspose.js";
import { type SessionPurpose, usesCpuArena, usesMemPattern } from "./session-purpose.js";
import { EXTERNAL_FOLDER_KEY, referStoredWeights } from "./stored-weights.js";
import { defaultWeightCache, processAlive, type WeightCache } from "./weight-cache.js";

export type { SessionPurpose } from "./session-purpose.js";

export type Device = "cpu" | "cuda";

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads; 0 or undefined lets ONNX Runtime choose (all cores). */
  threads?: number;
  /** what the session is for: decides whether it uses ONNX Runtime's CPU arena and memory pattern
   *  (./session-purpose.ts); none: both, as ONNX Runtime's default (small sessions: tests, one-off probes) */
  purpose?: SessionPurpose;
  /** Graphs whose weights total at least this reach ORT as external data (default 256 MB; tests lower it). */
  inlineLimitBytes?: number;
  /** Where converted weights are cached (default `defaultWeightCache()`: `SHORTENED_WEIGHT_CACHE_DIR`, bounded by
   *  `SHORTENED_WEIGHT_CACHE_BYTES`). */
  weightCache?: WeightCache;
}

/** Graphs whose weights total less than this go to ORT inside the model's bytes; a larger graph's tensors that
 *  are not read from a checkpoint go inside its bytes when they total less than this. */
const INLINE_LIMIT_BYTES = 256 * 1024 * 1024;

export async function createSession(
  graph: GraphBuilder,
  opts: SessionOptions = {},
): Promise<ort.InferenceSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [opts.device ?? "cpu"],
    graphOptimizationLevel: "all",
    ...(opts.purpose && !usesCpuArena(opts.purpose) ? { enableCpuMemArena: false } : {}),
    ...(opts.purpose && !usesMemPattern(opts.purpose) ? { enableMemPattern: false } : {}),
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
  };
  const inlineLimit = opts.inlineLimitBytes ?? INLINE_LIMIT_BYTES;
  let weightBytes = 0;
  for (const t of graph.initializers.values()) weightBytes += tensorBytes(t);
  try {
    if (weightBytes < inlineLimit) {
      // Checkpoint weights read through a Transpose go to the session transposed.
      pretransposeWeights(graph);
      return await ort.InferenceSession.create(graph.toBytes(), sessionOptions);
    }
    // A large graph's float32 checkpoint weights reach ORT from the checkpoint's files, with nothing written.
    const folder = referStoredWeights(graph, INLINE_LIMIT_BYTES);
    if (folder !== null)
      return await ort.InferenceSession.create(graph.toBytes(), {
        ...sessionOptions,
        extra: { session: { [EXTERNAL_FOLDER_KEY]: folder } },
      });
    // Weights to convert: written once to the converted-weights cache, shared by sessions and jobs.
    pretransposeWeights(graph);
    const use = referCachedWeights(graph, opts.weightCache ?? defaultWeightCache());
    if (use)
      try {
        // the graph's other large tensors (made in JavaScript) go to a file in the session's own folder
        return await ort.InferenceSession.create(graph.toBytes(join(use.folder, "other.data")), {
          ...sessionOptions,
          extra: { session: { [EXTERNAL_FOLDER_KEY]: use.folder } },
        });
      } finally {
        use.release();
      }
    // Otherwise (no weight to cache, or more than the cache's bound): ORT reads external data by path;
    // the folder can go once the session holds the weights. Its name carries our pid, so a folder left by a
    // killed process is found and removed by the next one.
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

export { ort };
