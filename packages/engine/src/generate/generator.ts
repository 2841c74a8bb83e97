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
      streamed: { workload: () => workload, minRows: 1, maxRows: 1 },
      force: opts.execution,
    });
    opts.onPlan?.(plan);
    if (plan.mode === "streamed") {
      const streamed = await StreamedModel.open(ckpt, {
        device: opts.device,
        threads: opts.threads,
        maxSeqLen,
        kvCache: true,
      });
      return new KvGenerator(ckpt.config, { streamed }, maxSeqLen, plan);
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
    const session = await createSession(g, { device: opts.device, threads: opts.threads });
    g.initializers.clear();
    return new KvGenerator(ckpt.config, { graph: fg, session }, maxSeqLen, plan);
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
    if ("streamed" in this.runner) return this.streamedStep(this.runner.streamed, ids, past);
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
    checkSampling(opts);
    if (prompts.length === 0) throw new UserError("bad_request", "no prompt to generate from");
    const T = prompts[0]!.length;
    if (T === 0) throw new UserError("bad_request", "the prompt is empty");
    if (prompts.some((p) => p.length !== T))
      throw new UserError("bad_request", "all prompts of a batch must have the same number of tokens");
    if (!(Number.isInteger(opts.maxNewTokens) && opts.maxNewTokens > 0))
      throw new UserError("bad_request", "`maxNewTokens` must be a positive integer");
    if (T + opts.maxNewTokens > this.maxSeqLen)
      throw new UserError(
        "bad_request",
        `prompt (${T}) + new tokens (${opts.maxNewTokens}) exceed the model's ${this.maxSeqLen} positions`,
      );
    checkRopeSwitch(this.config, T, T + opts.maxNewTokens);
    const V = this.config.vocabSize;
    const eos = new Set(opts.ignoreEos ? [] : (opts.eosIds ?? this.defaultEosIds()));
    const rand = uniformStream(opts.seed ?? 0);
    const B = prompts.length;
    const tokens: number[][] = prompts.map(() => []);
    const done = new Array<boolean>(B).fill(false);
    let t0 = performance.now();
    let { logits, present } = await this.step(prompts, null);
    const prefillMs = performance.now() - t0;
    t0 = performance.now();
    for (let s = 0; s < opts.maxNewTokens; s++) {
      const chosen = prompts.map((_, b) => chooseToken(logits, b * V, V, opts, rand));
      chosen.forEach((id, b) => {
        if (done[b]) return;
        tokens[b]!.push(id);
        if (eos.has(id)) done[b] = true;
      });
      opts.onToken?.(s, chosen);
      if (done.every(Boolean) || s === opts.maxNewTokens - 1) break;
      // Finished rows keep decoding their own token; their outputs are not used.
      ({ logits, present } = await this.step(
        chosen.map((id) => [id]),
        present,
      ));
    }
    const decodeMs = performance.now() - t0;
    return { tokens, finish: done.map((d) => (d ? "eos" : "length")), prefillMs, decodeMs };
  }

  /** The same step block by block: each block's weights read once per step, its cache kept here. */
  private async streamedStep(
    model: StreamedModel,
    ids: number[][],
    past: ort.Tensor[] | null,
  ): Promise<{ logits: Float32Array; present: ort.Tensor[] }> {
    const B = ids.length;
    const T = ids[0]!.length;
    const H = this.config.hiddenSize;
    let h = model.embed(ids.flat(), B, T);
    const present: ort.Tensor[] = [];
    for (let i = 0; i < model.numLayers; i++) {
      const cache = past ? { key: past[2 * i]!, value: past[2 * i + 1]! } : null;
      const r = await model.runCachedBlock(i, h, cache);
      h = r.h;
      present.push(r.present!.key, r.present!.value);
    }
    const last = new Float32Array(B * H);
    for (let b = 0; b < B; b++) last.set(h.data.subarray(((b + 1) * T - 1) * H, (b + 1) * T * H), b * H);
    return { logits: await model.headLogits(last, B), present };
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
