// Similarity criteria over the hidden states at block boundaries (h_l = input of block l, h_0 the embedding
// output, before the final norm), accumulated in float64 over the calibration batches:
//   bi (ShortGPT block influence):  score[l] = 1 − mean over all tokens of cos(h_l, h_{l+n})
//   angular (Gromov et al.):        score[l] = mean over rows of arccos(cos(h_l, h_{l+n})) / π at the last token
import type { Checkpoint } from "@shortened/hf";
import { streamedBoundaries } from "../execution/streamed-importance.js";
import type { HiddenRows, StreamedModel } from "../execution/streamed-model.js";
import type { Device } from "../graph/session.js";
import { ForwardSession } from "../models/forward-session.js";
import type { ComputeDtype } from "../models/precision.js";
import type { Calibration } from "./calibration.js";

export async function similarityCriterion(
  ckpt: Checkpoint,
  calib: Calibration,
  opts: {
    criterion: "bi" | "angular";
    n: number;
    token?: "all" | "last";
    batchSize: number;
    device?: Device;
    dtype?: ComputeDtype;
    threads?: number;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
    /** block-streamed: this model, this many rows per pass */
    streamed?: { model: StreamedModel; rowsPerPass: number };
  },
): Promise<number[]> {
  const L = ckpt.config.numHiddenLayers;
  const H = ckpt.config.hiddenSize;
  const T = calib.seqLen;
  const token = opts.token ?? (opts.criterion === "bi" ? "all" : "last");
  const groups = L - opts.n + 1;
  const sums = new Float64Array(groups);
  let count = 0;
  /** The token positions scored in rows [B, T]. */
  const positionsOf = (B: number) => {
    const positions: number[] = [];
    for (let b = 0; b < B; b++) {
      if (token === "all") for (let t = 0; t < T; t++) positions.push(b * T + t);
      else positions.push(b * T + T - 1);
    }
    return positions;
  };
  /** Adds group l's score of the states entering block l (a) and block l + n (c). */
  const accumulate = (l: number, positions: number[], a: Float32Array, c: Float32Array) => {
    for (const p of positions) {
      const cs = cosine(a, c, p * H, H);
      sums[l] += opts.criterion === "bi" ? 1 - cs : Math.acos(Math.min(1, Math.max(-1, cs))) / Math.PI;
    }
  };
  if (opts.streamed) {
    // Boundaries arrive one block at a time: keep each pass's states back to l − n.
    const kept = new Map<number, HiddenRows[]>();
    await streamedBoundaries(
      opts.streamed.model,
      calib,
      { ...opts, rowsPerPass: opts.streamed.rowsPerPass },
      (l, states) => {
        kept.set(l, states);
        if (l >= opts.n) {
          states.forEach((h, k) => {
            accumulate(l - opts.n, positionsOf(h.batch), kept.get(l - opts.n)![k]!.data, h.data);
          });
          kept.delete(l - opts.n);
        }
        if (l === L) {
          for (const h of states) count += positionsOf(h.batch).length;
          kept.clear();
        }
      },
    );
    return Array.from(sums, (s) => s / count);
  }
  const session = await ForwardSession.open(ckpt, {
    device: opts.device,
    threads: opts.threads,
    nll: false,
    hidden: true,
    maxSeqLen: T,
    dtype: opts.dtype,
  });
  try {
    for (let r0 = 0; r0 < calib.rows; r0 += opts.batchSize) {
      opts.signal?.throwIfAborted();
      const B = Math.min(opts.batchSize, calib.rows - r0);
      const ids = calib.flat.slice(r0 * T, (r0 + B) * T);
      const { hidden } = await session.run({ batch: B, seqLen: T, ids }, { hidden: true });
      const positions = positionsOf(B);
      for (let l = 0; l < groups; l++) accumulate(l, positions, hidden![l]!, hidden![l + opts.n]!);
      count += positions.length;
      opts.onProgress?.(r0 + B, calib.rows);
    }
  } finally {
    await session.release();
  }
  return Array.from(sums, (s) => s / count);
}

function cosine(a: Float32Array, b: Float32Array, off: number, H: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = off; k < off + H; k++) {
    const x = a[k]!;
    const y = b[k]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / (Math.sqrt(aa) * Math.sqrt(bb));
}
