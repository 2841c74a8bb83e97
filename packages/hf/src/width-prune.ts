// Width pruning, the baseline the paper compares depth pruning with: every block keeps the same fraction of
// its parameters, by removing whole attention head groups (a key/value head with the query heads it serves)
// and MLP channels of least magnitude, so that the model has as many parameters as a depth-pruned one.
// The output is an ordinary HF checkpoint with fewer heads and a smaller intermediate_size (float32).
// Like block surgery, it moves the tensors the checkpoint holds: each projection (and its bias, when the
// checkpoint has one) is cut along the removed heads or channels, 1-D block tensors (norm weights, Qwen3 and
// Gemma-3 q/k norms, which act per head on head_dim) are kept whole, and a block tensor of any other kind is
// refused rather than guessed at. Phi-3's fused gate_up_proj is cut in its gate half and its up half alike;
// its attention heads are all kept (qkv_proj whole): Phi3Config checks longrope factor lists against
// hidden_size / num_attention_heads, and Phi-3 code derives head_dim from them, so fewer heads would not load
// as the same model; its MLP alone is cut to the parameter target.
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import { Checkpoint, layerWeight, parseLayerName } from "./checkpoint.js";
import type { ModelConfig, ModelType } from "./config.js";
import { checkOutputTarget, writeFolderAtomically } from "./output-folder.js";
import { configJsonText } from "./python-json.js";
import { writeSafetensors } from "./safetensors-writer.js";

export interface WidthPruneOptions {
  model: string;
  out: string;
  /** Fraction of each block's parameters to keep, e.g. (L − k) / L to match removing k of L blocks. */
  keepRatio: number;
  force?: boolean;
}

export interface WidthPruneResult {
  out: string;
  keptGroups: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  intermediateSize: number;
  /** per block: kept key/value head groups and MLP channels (original indices, ascending) */
  kept: { groups: number[]; channels: number[] }[];
}

/** Indices of the `k` largest scores, in ascending index order. */
function topK(scores: number[], k: number): number[] {
  return scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i)
    .sort((a, b) => a - b);
}

/** Σ|w| over rows [r0, r1) of a row-major [rows, cols] matrix, or over those columns when `byColumn`. */
function absSum(w: Float32Array, cols: number, r0: number, r1: number, byColumn = false): number {
  let s = 0;
  if (!byColumn) for (let i = r0 * cols; i < r1 * cols; i++) s += Math.abs(w[i]!);
  else
    for (let r = 0; r < w.length / cols; r++) for (let c = r0; c < r1; c++) s += Math.abs(w[r * cols + c]!);
  return s;
}

/** Rows (blocks of `size` rows at the given indices) of a [rows, cols] matrix. */
function takeRows(w: Float32Array, cols: number, idx: number[], size = 1): Float32Array {
  const out = new Float32Array(idx.length * size * cols);
  for (const [k, r] of idx.entries())
    out.set(w.subarray(r * size * cols, (r + 1) * size * cols), k * size * cols);
  return out;
}

/** Columns (blocks of `size` columns) of a [rows, cols] matrix. */
function takeCols(w: Float32Array, cols: number, idx: number[], size = 1): Float32Array {
  const rows = w.length / cols;
  const width = idx.length * size;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (const [k, c] of idx.entries()) {
      out.set(w.subarray(r * cols + c * size, r * cols + (c + 1) * size), r * width + k * size);
    }
  }
  return out;
}

function blockShape(c: ModelConfig, groups: number, channels: number): { attention: number; mlp: number } {
  const rep = c.numAttentionHeads / c.numKeyValueHeads;
  const H = c.hiddenSize;
  const d = c.headDim;
  return { attention: groups * d * H * (2 * rep + 2), mlp: 3 * H * channels };
}

/** The families whose blocks width pruning knows how to cut: every supported one. */
const WIDTH_PRUNABLE: readonly ModelType[] = [
  "llama",
  "mistral",
  "qwen2",
  "gemma",
  "qwen3",
  "gemma2",
  "gemma3_text",
  "phi3",
];

/** Rows [r0, r1) of a row-major [rows, cols] matrix (a view). */
const rowRange = (w: Float32Array, cols: number, r0: number, r1: number) => w.subarray(r0 * cols, r1 * cols);

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export async function widthPrune(o: WidthPruneOptions): Promise<WidthPruneResult> {
  if (!(o.keepRatio > 0 && o.keepRatio <= 1))
    throw new UserError("bad_request", "the kept fraction must be in (0, 1]");
  const ckpt = Checkpoint.open(o.model);
  const c = ckpt.config;
  if (!WIDTH_PRUNABLE.includes(c.modelType))
    throw new UserError(
      "unsupported_model",
      `width pruning of model_type ${c.modelType} is not supported (only ${WIDTH_PRUNABLE.join(", ")})`,
    );
  checkOutputTarget(o.out, o.force ?? false, [o.model]);
  const G = c.numKeyValueHeads;
  const rep = c.numAttentionHeads / G;
  const H = c.hiddenSize;
  const d = c.headDim;
  const fused = c.modelType === "phi3";
  const full = blockShape(c, G, c.intermediateSize);
  const keptGroups = fused ? G : Math.max(1, Math.round(G * o.keepRatio));
  const target = o.keepRatio * (full.attention + full.mlp);
  const channels = Math.min(
    c.intermediateSize,
    Math.max(1, Math.round((target - blockShape(c, keptGroups, 0).attention) / (3 * H))),
  );

  const tensors: { name: string; data: Float32Array; shape: number[] }[] = [];
  const keep = (name: string, data: Float32Array, shape: number[]) => tensors.push({ name, data, shape });
  const kept: WidthPruneResult["kept"] = [];
  const I = c.intermediateSize;
  const Q = c.numAttentionHeads * d;
  // [out, in] of each projection; its bias [out] is cut like its rows.
  const shapes: Record<string, [number, number]> = fused
    ? {
        "self_attn.qkv_proj": [Q + 2 * G * d, H],
        "self_attn.o_proj": [H, Q],
        "mlp.gate_up_proj": [2 * I, H],
        "mlp.down_proj": [H, I],
      }
    : {
        "self_attn.q_proj": [Q, H],
        "self_attn.k_proj": [G * d, H],
        "self_attn.v_proj": [G * d, H],
        "self_attn.o_proj": [H, Q],
        "mlp.gate_proj": [I, H],
        "mlp.up_proj": [I, H],
        "mlp.down_proj": [H, I],
      };
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const w = (s: string) => ckpt.readFloat32(layerWeight(l, s));
    for (const [m, shape] of Object.entries(shapes)) {
      const got = ckpt.entry(layerWeight(l, `${m}.weight`)).shape;
      if (got.join(",") !== shape.join(","))
        throw new UserError(
          "invalid_checkpoint",
          `tensor ${layerWeight(l, `${m}.weight`)} has shape [${got}], but config.json implies [${shape}]`,
        );
    }
    // Phi-3's qkv_proj rows are [q (Q) | k (G·d) | v (G·d)]
    const qkv = fused ? w("self_attn.qkv_proj.weight") : null;
    const [q, k, v] = qkv
      ? [rowRange(qkv, H, 0, Q), rowRange(qkv, H, Q, Q + G * d), rowRange(qkv, H, Q + G * d, Q + 2 * G * d)]
      : ["q_proj", "k_proj", "v_proj"].map((p) => w(`self_attn.${p}.weight`));
    const out = w("self_attn.o_proj.weight");
    const groupScore = Array.from({ length: G }, (_, g) => {
      const qRows = absSum(q!, H, g * rep * d, (g + 1) * rep * d);
      const kvRows = absSum(k!, H, g * d, (g + 1) * d) + absSum(v!, H, g * d, (g + 1) * d);
      return qRows + kvRows + absSum(out!, Q, g * rep * d, (g + 1) * rep * d, true);
    });
    const groups = topK(groupScore, keptGroups);
    const qHeads = groups.flatMap((g) => Array.from({ length: rep }, (_, r) => g * rep + r));
    // Phi-3's gate_up_proj rows are [gate (I) | up (I)]
    const gateUp = fused ? w("mlp.gate_up_proj.weight") : null;
    const [gate, up] = gateUp
      ? [rowRange(gateUp, H, 0, I), rowRange(gateUp, H, I, 2 * I)]
      : [w("mlp.gate_proj.weight"), w("mlp.up_proj.weight")];
    const down = w("mlp.down_proj.weight");
    const channelScore = Array.from(
      { length: I },
      (_, j) => absSum(gate!, H, j, j + 1) + absSum(up!, H, j, j + 1) + absSum(down!, I, j, j + 1, true),
    );
    const ch = topK(channelScore, channels);
    // What each tensor of the block becomes: rows (output features) or columns (input features) kept.
    const cut: Record<string, (t: Float32Array) => [Float32Array, number[]]> = {
      "self_attn.q_proj.weight": (t) => [takeRows(t, H, qHeads, d), [qHeads.length * d, H]],
      "self_attn.k_proj.weight": (t) => [takeRows(t, H, groups, d), [groups.length * d, H]],
      "self_attn.v_proj.weight": (t) => [takeRows(t, H, groups, d), [groups.length * d, H]],
      "self_attn.o_proj.weight": (t) => [takeCols(t, Q, qHeads, d), [H, qHeads.length * d]],
      "self_attn.q_proj.bias": (t) => [takeRows(t, 1, qHeads, d), [qHeads.length * d]],
      "self_attn.k_proj.bias": (t) => [takeRows(t, 1, groups, d), [groups.length * d]],
      "self_attn.v_proj.bias": (t) => [takeRows(t, 1, groups, d), [groups.length * d]],
      "mlp.gate_proj.weight": (t) => [takeRows(t, H, ch), [ch.length, H]],
      "mlp.up_proj.weight": (t) => [takeRows(t, H, ch), [ch.length, H]],
      "mlp.down_proj.weight": (t) => [takeCols(t, I, ch), [H, ch.length]],
      "mlp.gate_proj.bias": (t) => [takeRows(t, 1, ch), [ch.length]],
      "mlp.up_proj.bias": (t) => [takeRows(t, 1, ch), [ch.length]],
      // Phi-3: every head kept; the gate half and the up half cut along the same channels
      "self_attn.qkv_proj.weight": (t) => [t, [Q + 2 * G * d, H]],
      "mlp.gate_up_proj.weight": () => [
        concat(takeRows(gate!, H, ch), takeRows(up!, H, ch)),
        [2 * ch.length, H],
      ],
    };
    for (const [name, entry] of ckpt.tensors) {
      const suffix = parseLayerName(name);
      if (suffix?.layer !== l) continue;
      const how = cut[suffix.suffix];
      if (how) {
        const [data, shape] = how(w(suffix.suffix));
        keep(name, data, shape);
      } else if (entry.shape.length === 1) {
        keep(name, w(suffix.suffix), entry.shape); // norm weights, the o_proj / down_proj biases
      } else {
        throw new UserError("unsupported_model", `width pruning does not know how to cut tensor ${name}`);
      }
    }
    kept.push({ groups, channels: ch });
  }
  for (const [name, entry] of ckpt.tensors) {
    if (!parseLayerName(name)) keep(name, ckpt.readFloat32(name), entry.shape);
  }

  // head_dim stays explicit when heads go (Phi-3 keeps its heads and derives head_dim from them); the dtype
  // under the key the file uses (transformers >= 4.56 writes "dtype")
  const dtypeKey = "dtype" in c.raw && !("torch_dtype" in c.raw) ? "dtype" : "torch_dtype";
  const config = {
    ...c.raw,
    num_attention_heads: keptGroups * rep,
    num_key_value_heads: keptGroups,
    ...(fused ? {} : { head_dim: d }),
    intermediate_size: channels,
    [dtypeKey]: "float32",
  };
  const sourceConfig = readFileSync(join(ckpt.dir, "config.json"), "utf8");
  await writeFolderAtomically(o.out, async (tmp) => {
    writeSafetensors(
      join(tmp, "model.safetensors"),
      tensors
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((t) => ({
          name: t.name,
          dtype: "F32",
          shape: t.shape,
          data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        })),
    );
    writeFileSync(join(tmp, "config.json"), configJsonText(config, sourceConfig));
    writeFileSync(
      join(tmp, "width_pruning.json"),
      `${JSON.stringify({ source: o.model, keepRatio: o.keepRatio, criterion: "magnitude (sum |w|)", kept }, null, 1)}\n`,
    );
    for (const f of readdirSync(ckpt.dir)) {
      if (
        f === "config.json" ||
        f.endsWith(".safetensors") ||
        f === "model.safetensors.index.json" ||
        f.startsWith(".")
      )
        continue;
      if (/^(tokenizer|special_tokens_map|generation_config)/.test(f))
        copyFileSync(join(ckpt.dir, f), join(tmp, f));
    }
  });
  return {
    out: o.out,
    keptGroups,
    numAttentionHeads: keptGroups * rep,
    numKeyValueHeads: keptGroups,
    intermediateSize: channels,
    kept,
  };
}
