// One Transformer block as an ONNX Runtime graph fed its weights as inputs (the current ones: quantized for the
// linears already done, so later Hessians see the quantized block, AutoGPTQ's true-sequential order), which
// outputs the summed XᵀX of the inputs of a group of linears (one per distinct input: k, v and q share theirs)
// and/or the block's output. The accumulation of H = 2XXᵀ/N runs in ONNX Runtime (float32 MatMul per batch),
// summed over batches in float64 on the host.
import type { ModelConfig } from "@shortened/hf";
import { GraphBuilder } from "../graph/builder.js";
import { createSession, ort, type SessionOptions } from "../graph/session.js";
import { layerName } from "../models/architecture.js";
import { buildForwardGraph, type ForwardGraph } from "../models/forward-graph.js";

export class BlockHessians {
  private constructor(
    private readonly graph: ForwardGraph,
    private readonly session: ort.InferenceSession,
    /** module → output name of its input's XᵀX */
    readonly hessianOf: Map<string, string>,
    readonly inputSize: Map<string, number>,
    private readonly hidden: number,
  ) {}

  /** The graph of block `layer` with XᵀX outputs for `modules` (e.g. ["self_attn.k_proj", …]) and, with
   *  `output`, the block's output. */
  static async open(
    config: ModelConfig,
    layer: number,
    modules: string[],
    output: boolean,
    maxSeqLen: number,
    opts: SessionOptions,
  ): Promise<BlockHessians> {
    const g = new GraphBuilder();
    const seen = new Map<string, string>();
    const hessianOf = new Map<string, string>();
    const inputSize = new Map<string, number>();
    const wanted = new Set(modules.map((m) => layerName(layer, m)));
    const fg = buildForwardGraph(config, {
      graph: g,
      blocks: { from: layer, to: layer + 1 },
      input: "hidden",
      blockWeights: "inputs",
      gates: false,
      nll: false,
      hiddenOut: output,
      maxSeqLen,
      weight: (name) => {
        throw new Error(`a block graph reads no model tensor (${name})`);
      },
      linear: (x, prefix, base) => {
        const y = base(x);
        if (wanted.has(prefix)) {
          let h = seen.get(x);
          if (!h) {
            h = `xtx_${seen.size}`;
            // [B, T, in] → [B·T, in]
            const fixed = g.node("Flatten", [x], { axis: 2 });
            const xtx = g.node("MatMul", [g.node("Transpose", [fixed], { perm: [1, 0] }), fixed]);
            g.output(g.rename(xtx, h), "float32", ["in", "in"]);
            seen.set(x, h);
          }
          hessianOf.set(prefix.slice(`model.layers.${layer}.`.length), h);
        }
        return y;
      },
    });
    for (const w of fg.inputs.blockWeights ?? [])
      if (w.suffix.endsWith(".weight") && w.dims.length === 2)
        inputSize.set(w.suffix.slice(0, -".weight".length), w.dims[1]!);
    const session = await createSession(g, opts);
    return new BlockHessians(fg, session, hessianOf, inputSize, config.hiddenSize);
  }

  /** Runs rows [batch, seqLen, hidden] with the block's current weights (`weightOf(suffix)`), adding each
   *  XᵀX into `sums` (float64) and returning the block's output when the graph has it. */
  async run(
    h: Float32Array,
    batch: number,
    seqLen: number,
    weightOf: (suffix: string) => Float32Array,
    sums: Map<string, Float64Array> | null,
  ): Promise<Float32Array | null> {
    const { inputs, outputs } = this.graph;
    const feeds: Record<string, ort.Tensor> = {
      [inputs.hiddenIn!]: new ort.Tensor("float32", h, [batch, seqLen, this.hidden]),
    };
    for (const w of inputs.blockWeights ?? [])
      feeds[w.name] = new ort.Tensor("float32", weightOf(w.suffix), w.dims);
    const fetch = sums ? [...new Set(this.hessianOf.values())] : [];
    if (outputs.hiddenOut) fetch.push(outputs.hiddenOut);
    const out = await this.session.run(feeds, fetch);
    if (sums)
      for (const name of new Set(this.hessianOf.values())) {
        const part = out[name]!.data as Float32Array;
        const acc = sums.get(name) ?? new Float64Array(part.length);
        sums.set(name, acc);
        for (let k = 0; k < part.length; k++) acc[k]! += part[k]!;
      }
    return outputs.hiddenOut ? (out[outputs.hiddenOut]!.data as Float32Array) : null;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
