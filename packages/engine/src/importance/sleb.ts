// SLEB-style iterative PPL removal (Song et al. 2024, with the PPL criterion of Kim et al.): remove the block
// whose removal hurts the calibration perplexity least, then score the remaining candidates again on the
// pruned model, and repeat. The pruned model is the full one with the removed blocks gated off (equal to the
// pruned checkpoint), and each step reuses the prefix of the model as the PPL criterion does.
// Output: the removal sequence over the "+" candidates (never the first keepFirst / last keepLast blocks),
// so the first k of it are the blocks SLEB removes for a count of k.
import type { Checkpoint } from "@shortened/hf";
import type { Device } from "../graph/session.js";
import type { ComputeDtype } from "../models/precision.js";
import type { Calibration } from "./calibration.js";
import { stableOrder } from "./orders.js";
import { pplCriterion } from "./ppl.js";

export interface SlebResult {
  /** per block: the calibration PPL of the model right after its removal; a protected block: its first-step score */
  scores: number[];
  /** the removal sequence, then the protected blocks by their first-step score */
  order: number[];
  /** the removal sequence (candidates only) */
  orderPlus: number[];
  /** the calibration PPL of the unpruned model */
  basePpl: number;
  /** per step: every remaining block's score (NaN for removed ones) */
  steps: number[][];
}

export async function slebCriterion(
  ckpt: Checkpoint,
  calib: Calibration,
  opts: {
    keepFirst: number;
    keepLast: number;
    /** stop after this many removals (default: every candidate) */
    maxRemove?: number;
    batchSize: number;
    device?: Device;
    threads?: number;
    dtype?: ComputeDtype;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<SlebResult> {
  const L = ckpt.config.numHiddenLayers;
  const candidates = new Set<number>();
  for (let b = opts.keepFirst; b < L - opts.keepLast; b++) candidates.add(b);
  const stepsToRun = Math.min(opts.maxRemove ?? candidates.size, candidates.size);
  const removed = new Set<number>();
  const scores = new Array<number>(L).fill(Number.NaN);
  const steps: number[][] = [];
  const sequence: number[] = [];
  let basePpl = Number.NaN;
  for (let step = 0; step < stepsToRun; step++) {
    const r = await pplCriterion(ckpt, calib, {
      ...opts,
      removed,
      onProgress: (done, total) => opts.onProgress?.(step * total + done, stepsToRun * total),
    });
    if (step === 0) {
      basePpl = r.basePpl;
      for (let b = 0; b < L; b++) if (!candidates.has(b)) scores[b] = r.scores[b]!;
    }
    steps.push(r.scores);
    // the least harmful removal; ties go to the lower index (a stable sort, as the one-shot orders)
    let best = -1;
    for (const b of candidates) if (!removed.has(b) && (best < 0 || r.scores[b]! < r.scores[best]!)) best = b;
    removed.add(best);
    sequence.push(best);
    scores[best] = r.scores[best]!;
  }
  // Candidates never removed (maxRemove): ranked after the sequence by their last-step score.
  const last = steps.at(-1) ?? [];
  const rest = [...candidates].filter((b) => !removed.has(b));
  for (const b of rest) scores[b] = last[b]!;
  const restOrder = stableOrder(rest.map((b) => last[b]!)).map((k) => rest[k]!);
  const orderPlus = [...sequence, ...restOrder];
  const protectedBlocks = Array.from({ length: L }, (_, b) => b).filter((b) => !candidates.has(b));
  const protectedOrder = stableOrder(protectedBlocks.map((b) => scores[b]!)).map((k) => protectedBlocks[k]!);
  return { scores, order: [...orderPlus, ...protectedOrder], orderPlus, basePpl, steps };
}
