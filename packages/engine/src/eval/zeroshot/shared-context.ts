// Loglikelihoods that read each shared context once. The requests of a multiple-choice document share their
// context tokens (the harness encodes the context alone), so the context is run once through the forward graph
// with its KV cache (prefill, left-padded across documents), and every choice then continues from a copy of that cache:
// one row per choice, [last context token, continuation[:-1]] against targets = continuation. Up to rounding
// this equals scoring (context + continuation) in full, as `loglikelihoods` does; ARC/OBQA read ~2.5× fewer
// tokens. Requests the harness truncates keep their visible window as their own context.
// The head runs only on the positions that score a continuation token (the graph's `scored_positions`): the
// prefill scores none, and a choice row's padding is never read. Logits are then (continuation tokens) × vocab,
// not (documents × context) × vocab, which had been most of the whole-model peak.
import { UserError } from "@shortened/contracts";
import type { TokenRequest } from "@shortened/hf";
import { GraphBuilder } from "../../graph/builder.js";
import { createSession, type Device, ort } from "../../graph/session.js";
import { buildForwardGraph, type ForwardGraph } from "../../models/forward-graph.js";
import type { ComputeDtype } from "../../models/precision.js";
import { checkpointHooks, openCheckpoint } from "../../models/weights.js";
import type { QuantizedRunOptions } from "../../quantize/gptq-matmul.js";
import { DEFAULT_MAX_BATCH, harnessWindow, type LoglikelihoodOptions } from "./loglikelihood.js";

interface Group {
  context: number[];
  /** [request slot, continuation ids] */
  members: [number, number[]][];
}

const int64 = (data: number[] | Int32Array, dims: number[]) =>
  new ort.Tensor(
    "int64",
    BigInt64Array.from(data, (v) => BigInt(v)),
    dims,
  );

export class SharedContextScorer {
  /** Rows the head has scored so far (its logits were rows × vocab): the continuation tokens, nothing else. */
  headRows = 0;

  private constructor(
    readonly graph: ForwardGraph,
    readonly session: ort.InferenceSession,
    readonly layers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly maxLength: number,
  ) {}

  static async open(
    model: string,
    opts: { device?: Device; threads?: number; dtype?: ComputeDtype } & QuantizedRunOptions = {},
  ): Promise<SharedContextScorer> {
    const ckpt = openCheckpoint(model);
    const c = ckpt.config;
    const g = new GraphBuilder();
    // No gates: each block adds its updates in Hugging Face's order, as the model computes them.
    const fg = buildForwardGraph(c, {
      graph: g,
      ...checkpointHooks(g, ckpt, opts),
      kvCache: { padded: true },
      gates: false,
      nll: true,
      scoredPositions: true,
    });
    const session = await createSession(g, {
      device: opts.device,
      threads: opts.threads,
      purpose: "zero-shot",
    });
    g.initializers.clear();
    return new SharedContextScorer(
      fg,
      session,
      c.numHiddenLayers,
      c.numKeyValueHeads,
      c.headDim,
      c.maxPositionEmbeddings,
    );
  }

  async loglikelihoods(
    requests: TokenRequest[],
    opts: Omit<LoglikelihoodOptions, "maxLength">,
  ): Promise<number[]> {
    const budget = opts.tokensPerBatch ?? 8192;
    const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    const groups = new Map<string, Group>();
    requests.forEach((req, slot) => {
      // The harness's window split into its visible context and the continuation.
      const { ids, start } = harnessWindow(req, this.maxLength);
      const context = ids.slice(0, start + 1);
      const key = context.join(",");
      const g = groups.get(key) ?? { context, members: [] };
      g.members.push([slot, req.continuationIds]);
      groups.set(key, g);
    });
    const ordered = [...groups.values()].sort((a, b) => b.context.length - a.context.length);
    const out: number[] = new Array(requests.length);
    let done = 0;
    for (let i = 0; i < ordered.length; ) {
      if (opts.signal?.aborted) throw new UserError("cancelled", "zero-shot evaluation cancelled");
      // Take documents while the choice rows × (cache + new tokens) fit the budget.
      const P = ordered[i]!.context.length - 1;
      let j = i;
      let rows = 0;
      let T = 0;
      while (j < ordered.length) {
        const g = ordered[j]!;
        const t = Math.max(T, ...g.members.map(([, cont]) => cont.length));
        const r = rows + g.members.length;
        if (j > i && (r > maxBatch || r * (P + t) > budget)) break;
        rows = r;
        T = t;
        j++;
      }
      const batch = ordered.slice(i, j);
      const lls = await this.scoreBatch(batch, P, T, rows);
      let r = 0;
      for (const g of batch) for (const [slot] of g.members) out[slot] = lls[r++]!;
      done += rows;
      opts.onBatch?.(done, requests.length);
      i = j;
    }
    return out;
  }

  /** Prefill of every document's context but its last token, then one row per choice. */
  private async scoreBatch(batch: Group[], P: number, T: number, R: number): Promise<number[]> {
    const N = batch.length;
    const kvRow = this.kvHeads * P * this.headDim;
    let present: Float32Array[] = [];
    const valid = new Uint8Array(N * P);
    if (P > 0) {
      const ids = new Int32Array(N * P);
      const pos = new Int32Array(N * P);
      batch.forEach((g, b) => {
        const pad = P - (g.context.length - 1);
        for (let t = pad; t < P; t++) {
          ids[b * P + t] = g.context[t - pad]!;
          pos[b * P + t] = t - pad;
          valid[b * P + t] = 1;
        }
      });
      const res = await this.run(N, P, 0, ids, pos, [], [], valid, null);
      present = res.present;
    }
    // One row per choice: the document's cache, its last context token, then the continuation.
    const ids = new Int32Array(R * T);
    const pos = new Int32Array(R * T);
    const scored: number[] = [];
    const targets: number[] = [];
    const keyValid = new Uint8Array(R * (P + T)).fill(1);
    const past = present.map(() => new Float32Array(R * kvRow));
    const lengths: number[] = [];
    let r = 0;
    batch.forEach((g, b) => {
      const n = g.context.length;
      for (const [, cont] of g.members) {
        for (let t = 0; t < cont.length; t++) {
          ids[r * T + t] = t === 0 ? g.context[n - 1]! : cont[t - 1]!;
          pos[r * T + t] = n - 1 + t; // padding after the continuation keeps position 0 (never scored)
          scored.push(r * T + t);
          targets.push(cont[t]!);
        }
        keyValid.set(valid.subarray(b * P, (b + 1) * P), r * (P + T));
        for (let k = 0; k < present.length; k++)
          past[k]!.set(present[k]!.subarray(b * kvRow, (b + 1) * kvRow), r * kvRow);
        lengths.push(cont.length);
        r++;
      }
    });
    const { nll } = await this.run(R, T, P, ids, pos, scored, targets, keyValid, past);
    // nll holds each row's continuation tokens in turn
    let at = 0;
    return lengths.map((len) => {
      let ll = 0;
      for (let t = 0; t < len; t++) ll -= nll[at++]!;
      return ll;
    });
  }

  private async run(
    B: number,
    T: number,
    P: number,
    ids: Int32Array,
    pos: Int32Array,
    scored: number[],
    targets: number[],
    keyValid: Uint8Array,
    past: Float32Array[] | null,
  ): Promise<{ nll: Float32Array; present: Float32Array[] }> {
    const { inputs, outputs } = this.graph;
    const kvDims = [B, this.kvHeads, P, this.headDim];
    const feeds: Record<string, ort.Tensor> = {
      [inputs.ids!]: int64(ids, [B, T]),
      [inputs.positionIds!]: int64(pos, [B, T]),
      [inputs.scoredPositions!]: int64(scored, [scored.length]),
      [inputs.targets!]: int64(targets, [1, targets.length]),
      [inputs.keyValid!]: new ort.Tensor("bool", keyValid, [B, P + T]),
    };
    for (let i = 0; i < this.layers; i++) {
      feeds[inputs.pastKeys![i]!] = new ort.Tensor(
        "float32",
        past ? past[2 * i]! : new Float32Array(0),
        kvDims,
      );
      feeds[inputs.pastValues![i]!] = new ort.Tensor(
        "float32",
        past ? past[2 * i + 1]! : new Float32Array(0),
        kvDims,
      );
    }
    // The choice rows' caches are never read again: fetching only the NLL leaves them in ONNX Runtime, so no
    // JavaScript copy of rows × (P + T) cache entries per layer is made.
    const wantPresent = past === null;
    const fetches = wantPresent ? undefined : [outputs.nll!];
    const out = fetches ? await this.session.run(feeds, fetches) : await this.session.run(feeds);
    const present: Float32Array[] = [];
    for (let i = 0; wantPresent && i < this.layers; i++) {
      present.push(
        out[outputs.presentKeys![i]!]!.data as Float32Array,
        out[outputs.presentValues![i]!]!.data as Float32Array,
      );
    }
    const nll = out[outputs.nll!]!;
    this.headRows += nll.dims.reduce((a, b) => a * b, 1);
    return { nll: nll.data as Float32Array, present };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
