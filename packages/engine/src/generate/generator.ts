// Text generation with a KV cache: one prefill run over the prompt, then one decode run per new token that
// feeds back the cache (past K/V in, present K/V out). Both are runs of the model's forward graph with its KV
// cache (../models/forward-graph.ts): the prefill with an empty past, a decode step with one new token; one
// graph and one session serve both, so the weights are held once. Rows of a batch share one prompt length.
import { UserError } from "@shortened/contracts";
import type { Checkpoint, ModelConfig } from "@shortened/hf";
import { type ExecutionPlan, planExecution } from "../execution/plan.js";
import { StreamedModel } from "../execution/streamed-model.js";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, type Device, ort } from "../graph/session.js";
import { architectureOf } from "../models/architecture.js";
import { buildForwardGraph, type ForwardGraph } from "../models/forward-graph.js";
import { type ComputeDtype, checkComputeDtype } from "../models/precision.js";
import { longropeLengths } from "../models/rope-frequencies.js";
import { checkpointHooks, openCheckpoint } from "../models/weights.js";
import type { QuantizedRunOptions } from "../quantize/gptq-matmul.js";
import { checkSampling, chooseToken, type SamplingOptions, uniformStream } from "./sampling.js";

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Token ids that end a row (default: the config's eos_token_id). */
  eosIds?: number[];
  /** Keep going past EOS to exactly maxNewTokens (the benchmark's forced output length). */
  ignoreEos?: boolean;
  /** Called after each step with the tokens chosen for every row. */
  onToken?: (step: number, tokens: number[]) => void;
}

export interface GenerateResult {
  /** New tokens per row, up to and including its EOS. */
  tokens: number[][];
  /** Why each row ended. */
  finish: ("eos" | "length")[];
  prefillMs: number;
  decodeMs: number;
}

export interface KvGeneratorOptions extends QuantizedRunOptions {
  device?: Device;
  threads?: number;
  /** compute dtype (default float32; ../models/precision.ts) */
  dtype?: ComputeDtype;
  /** longest prompt + new tokens served (default max_position_embeddings): sizes the KV cache in the plan */
  maxSeqLen?: number;
  /** rows generated together, for the plan (default 1) */
  batch?: number;
  /** peak memory allowed ("4G", bytes); default SHORTENED_MEMORY_BUDGET, else a share of available memory */
  memoryBudget?: string | number;
  /** force the whole-model or the streamed plan (still refused when it does not fit) */
  execution?: "whole" | "streamed";
  onPlan?: (plan: ExecutionPlan) => void;
}

export class KvGenerator {
  private constructor(
    readonly config: ModelConfig,
    /** whole: the cached forward graph in one session; streamed: block by block (../execution) */
    private readonly runner:
      | { graph: ForwardGraph; session: ort.InferenceSession }
      | { streamed: StreamedModel },
    readonly maxSeqLen: number,
    readonly plan: ExecutionPlan,
    /** the compute dtype it runs in, whole or streamed */
    readonly dtype: ComputeDtype,
  ) {}

  static async open(model: string | Checkpoint, opts: KvGeneratorOptions = {}): Promise<KvGenerator> {
    const ckpt = openCheckpoint(model);
    const maxSeqLen = Math.min(
      opts.maxSeqLen ?? ckpt.config.maxPositionEmbeddings,
      ckpt.config.maxPositionEmbeddings,
    );
    // The plan sizes the KV cache and the prefill for maxSeqLen tokens; callers that know their prompts pass it
    // (the CLI and jobs do), others are planned for 512 tokens.
    const planned = opts.maxSeqLen === undefined ? Math.min(maxSeqLen, 512) : maxSeqLen;
    const dtype = checkComputeDtype(opts.dtype, opts.device);
    const workload = { batch: opts.batch ?? 1, seqLen: planned, head: "last" as const, kvTokens: 0, dtype };
    const plan = planExecution({
      config: ckpt.config,
      memoryBudget: opts.memoryBudget,
      what: "generation",
      workload,
      streamed: { workload: () => workload, minRows: 1, maxRows: 1, halfDtype: true },
      force: opts.execution,
    });
    opts.onPlan?.(plan);
    if (plan.mode === "streamed") {
      const streamed = await StreamedModel.open(ckpt, {
        device: opts.device,
        threads: opts.threads,
        maxSeqLen,
        kvCache: true,
        dtype,
      });
      return new KvGenerator(ckpt.config, { streamed }, maxSeqLen, plan, dtype);
    }
    const g = new GraphBuilder();
    // No gates: each block adds its updates in Hugging Face's order, as the model computes them.
    const fg = buildForwardGraph(ckpt.config, {
      graph: g,
      ...checkpointHooks(g, ckpt, { ...opts, dtype }),
      kvCache: true,
      gates: false,
      nll: false,
      logits: "last",
      maxSeqLen,
    });
    const session = await createSession(g, {
      device: opts.device,
      threads: opts.threads,
      purpose: "generation",
    });
    g.initializers.clear();
    return new KvGenerator(ckpt.config, { graph: fg, session }, maxSeqLen, plan, dtype);
  }

  defaultEosIds(): number[] {
    const e = this.config.eosTokenId;
    return e === undefined ? [] : Array.isArray(e) ? e : [e];
  }

  /** One run of the cached graph: `ids` [B, T] after the cache `past` (null = empty). */
  async step(
    ids: number[][],
    past: ort.Tensor[] | null,
  ): Promise<{ logits: Float32Array; present: ort.Tensor[] }> {
    if ("streamed" in this.runner) return (await this.streamedStep(this.runner.streamed, [ids], [past]))[0]!;
    const c = this.config;
    const { inputs, outputs } = this.runner.graph;
    const B = ids.length;
    const T = ids[0]!.length;
    const flat = new BigInt64Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) flat[b * T + t] = BigInt(ids[b]![t]!);
    const feeds: Record<string, ort.Tensor> = {
      [inputs.ids!]: new ort.Tensor("int64", flat, [B, T]),
    };
    const empty = () => new ort.Tensor("float32", new Float32Array(0), [B, c.numKeyValueHeads, 0, c.headDim]);
    for (let i = 0; i < c.numHiddenLayers; i++) {
      feeds[inputs.pastKeys![i]!] = past ? past[2 * i]! : empty();
      feeds[inputs.pastValues![i]!] = past ? past[2 * i + 1]! : empty();
    }
    const out = await this.runner.session.run(feeds);
    const present: ort.Tensor[] = [];
    for (let i = 0; i < c.numHiddenLayers; i++)
      present.push(out[outputs.presentKeys![i]!]!, out[outputs.presentValues![i]!]!);
    return { logits: out[outputs.logits!]!.data as Float32Array, present };
  }

  async generate(prompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
    const { onToken, ...rest } = opts;
    const [r] = await this.generateEach([prompts], {
      ...rest,
      ...(onToken
        ? { onToken: (_group: number, step: number, tokens: number[]) => onToken(step, tokens) }
        : {}),
    });
    return r!;
  }

  /**
   * Several batches of prompts ("groups"; the rows of a group share one prompt length, groups need not) generated
   * together, each exactly as `generate(group)` alone: its own seeded random stream, its own EOS ending. Every step
   * runs all the groups still going: block-streamed, each block and each head chunk is read once per step for all
   * of them (not once per group), so several prompts cost one pass over the weights per token. The KV caches of
   * all groups are held at once (plan with `batch` = all rows).
   */
  async generateEach(
    groups: number[][][],
    opts: Omit<GenerateOptions, "onToken"> & {
      /** Called after each step of a group with the tokens chosen for its rows. */
      onToken?: (group: number, step: number, tokens: number[]) => void;
    },
  ): Promise<GenerateResult[]> {
    checkSampling(opts);
    if (!(Number.isInteger(opts.maxNewTokens) && opts.maxNewTokens > 0))
      throw new UserError("bad_request", "`maxNewTokens` must be a positive integer");
    if (groups.length === 0) throw new UserError("bad_request", "no prompt to generate from");
    for (const prompts of groups) this.checkPrompts(prompts, opts.maxNewTokens);
    const V = this.config.vocabSize;
    const eos = new Set(opts.ignoreEos ? [] : (opts.eosIds ?? this.defaultEosIds()));
    const runs = groups.map((prompts) => ({
      prompts,
      rand: uniformStream(opts.seed ?? 0),
      tokens: prompts.map((): number[] => []),
      done: new Array<boolean>(prompts.length).fill(false),
      finished: false,
      logits: new Float32Array(0) as Float32Array,
      present: [] as ort.Tensor[],
      prefillMs: 0,
      decodeMs: 0,
    }));
    let t0 = performance.now();
    let going = runs.map((_, k) => k);
    let outs = await this.stepEach(
      groups,
      groups.map(() => null),
    );
    const prefillMs = performance.now() - t0;
    t0 = performance.now();
    for (let s = 0; s < opts.maxNewTokens && going.length; s++) {
      const next: number[] = [];
      const feeds: number[][][] = [];
      for (const [j, k] of going.entries()) {
        const run = runs[k]!;
        ({ logits: run.logits, present: run.present } = outs[j]!);
        if (s === 0) run.prefillMs = prefillMs;
        const chosen = run.prompts.map((_, b) => chooseToken(run.logits, b * V, V, opts, run.rand));
        chosen.forEach((id, b) => {
          if (run.done[b]) return;
          run.tokens[b]!.push(id);
          if (eos.has(id)) run.done[b] = true;
        });
        opts.onToken?.(k, s, chosen);
        if (run.done.every(Boolean) || s === opts.maxNewTokens - 1) {
          run.decodeMs = performance.now() - t0;
          continue;
        }
        // Finished rows keep decoding their own token; their outputs are not used.
        next.push(k);
        feeds.push(chosen.map((id) => [id]));
      }
      going = next;
      if (going.length)
        outs = await this.stepEach(
          feeds,
          going.map((k) => runs[k]!.present),
        );
    }
    return runs.map((r) => ({
      tokens: r.tokens,
      finish: r.done.map((d) => (d ? "eos" : "length")),
      prefillMs: r.prefillMs,
      decodeMs: r.decodeMs,
    }));
  }

  private checkPrompts(prompts: number[][], maxNewTokens: number): void {
    if (prompts.length === 0) throw new UserError("bad_request", "no prompt to generate from");
    const T = prompts[0]!.length;
    if (T === 0) throw new UserError("bad_request", "the prompt is empty");
    if (prompts.some((p) => p.length !== T))
      throw new UserError("bad_request", "all prompts of a batch must have the same number of tokens");
    if (T + maxNewTokens > this.maxSeqLen)
      throw new UserError(
        "bad_request",
        `prompt (${T}) + new tokens (${maxNewTokens}) exceed the model's ${this.maxSeqLen} positions`,
      );
    checkRopeSwitch(this.config, T, T + maxNewTokens);
  }

  /** One step of every group: the whole model runs them one after another; streamed, block by block together. */
  private async stepEach(
    ids: number[][][],
    pasts: (ort.Tensor[] | null)[],
  ): Promise<{ logits: Float32Array; present: ort.Tensor[] }[]> {
    if ("streamed" in this.runner) return this.streamedStep(this.runner.streamed, ids, pasts);
    const out: { logits: Float32Array; present: ort.Tensor[] }[] = [];
    for (const [k, g] of ids.entries()) out.push(await this.step(g, pasts[k]!));
    return out;
  }

  /** The same steps block by block: each block's weights (and each head chunk) read once for all the groups. */
  private async streamedStep(
    model: StreamedModel,
    ids: number[][][],
    pasts: (ort.Tensor[] | null)[],
  ): Promise<{ logits: Float32Array; present: ort.Tensor[] }[]> {
    const H = this.config.hiddenSize;
    const V = this.config.vocabSize;
    let hs = ids.map((g) => model.embed(g.flat(), g.length, g[0]!.length));
    const present = ids.map((): ort.Tensor[] => []);
    for (let i = 0; i < model.numLayers; i++) {
      const next = [];
      for (const [k, h] of hs.entries()) {
        const past = pasts[k];
        const r = await model.runCachedBlock(
          i,
          h,
          past ? { key: past[2 * i]!, value: past[2 * i + 1]! } : null,
        );
        next.push(r.h);
        present[k]!.push(r.present!.key, r.present!.value);
      }
      hs = next;
    }
    // Each row's last position, all groups in one head pass.
    const rows = hs.reduce((n, h) => n + h.batch, 0);
    const last = new Float32Array(rows * H);
    let at = 0;
    for (const h of hs)
      for (let b = 0; b < h.batch; b++, at++)
        last.set(h.data.subarray(((b + 1) * h.seqLen - 1) * H, (b + 1) * h.seqLen * H), at * H);
    const logits = await model.headLogits(last, rows);
    at = 0;
    return hs.map((h, k) => {
      const out = { logits: logits.slice(at * V, (at + h.batch) * V), present: present[k]! };
      at += h.batch;
      return out;
    });
  }

  async release(): Promise<void> {
    if ("streamed" in this.runner) await this.runner.streamed.release();
    else await this.runner.session.release();
  }
}

/** Longrope changes every position's rotation once the sequence passes its original length: keys cached before
 *  the switch would keep the short factors, which a fresh forward (the oracle, recomputation) does not. */
function checkRopeSwitch(c: ModelConfig, promptLen: number, totalLen: number): void {
  const spec = architectureOf(c).rope.global;
  if (spec.scaling.type !== "longrope") return;
  const { switchAt } = longropeLengths(spec);
  if (promptLen <= switchAt && totalLen > switchAt)
    throw new UserError(
      "bad_request",
      `prompt (${promptLen}) + new tokens would cross the longrope switch at ${switchAt} positions (original_max_position_embeddings), where the KV cache's rotations stop matching; generate at most ${switchAt - promptLen} tokens or give a prompt longer than ${switchAt}`,
    );
}
