// A checkpoint opened for compute, and the default `weight` hook of the forward graph: each checkpoint tensor
// becomes an initializer, float32 (F16/BF16 widened on read) or, in a half compute dtype, its matrices in that
// dtype (./precision.ts), checked against the shape the config implies before
// any compute (Checkpoint.open checks the tensors against the config).
import { statSync } from "node:fs";
import { UserError } from "@shortened/contracts";
import { Checkpoint, DTYPE_BYTES, type TensorEntry } from "@shortened/hf";
import { TensorReader } from "../execution/tensor-reader.js";
import type { ElemType, GraphBuilder, StoredRange } from "../graph/builder.js";
import { gptqMatMul, type QuantizedRunOptions } from "../quantize/gptq-matmul.js";
import type { WeightHooks } from "./forward-graph.js";
import { type ComputeDtype, toHalfBits, weightElemType } from "./precision.js";

/** Opens a checkpoint folder (or passes an open one through): Checkpoint.open has checked its tensors against
 *  its config (@shortened/hf tensor-layout.ts). */
export function openCheckpoint(model: string | Checkpoint): Checkpoint {
  const ckpt = typeof model === "string" ? Checkpoint.open(model) : model;
  return ckpt;
}

/** The weight hooks of a checkpoint: float tensors as initializers (matrices in a half compute `dtype`), and for
 *  a GPTQ checkpoint the quantized linears through MatMulNBits (../quantize/gptq-matmul.ts). */
export function checkpointHooks(
  g: GraphBuilder,
  ckpt: Checkpoint,
  opts: QuantizedRunOptions & { dtype?: ComputeDtype } = {},
): Pick<WeightHooks, "weight" | "matmul" | "dtype"> {
  return {
    weight: checkpointWeights(g, ckpt, opts.dtype),
    matmul: gptqMatMul(g, ckpt, opts),
    dtype: opts.dtype,
  };
}

/** The default weight hook: the named tensor as an initializer of `g` (added once, on first use), read from
 *  the checkpoint only when the graph is serialized; float32, or for a half `dtype` its matrices in that dtype. */
export function checkpointWeights(
  g: GraphBuilder,
  ckpt: Checkpoint,
  dtype: ComputeDtype = "float32",
): (name: string) => string {
  return (name) => {
    if (!g.initializers.has(name)) {
      const entry = ckpt.tensors.get(name);
      if (!entry && !ckpt.quantizedModule(name))
        throw new UserError("invalid_checkpoint", `${ckpt.dir} lacks tensor ${name}`);
      // Read when the graph is written out, so only one tensor at a time is in JavaScript (../graph/builder.ts).
      const dims = ckpt.shapeOf(name);
      const type = weightElemType(dtype, dims);
      g.initializer(name, {
        type,
        dims,
        data: new Float32Array(0),
        read:
          type === "float16" || type === "bfloat16"
            ? () => toHalfBits(ckpt.readFloat32(name), type)
            : () => ckpt.readFloat32(name),
        stored: entry ? storedRange(entry) : undefined,
        contentKey: entry && contentKey(entry, type),
      });
    }
    return name;
  };
}

/** Rows [from, to) of a checkpoint's rank-2 tensor as an initializer of its own (added once), read when the
 *  graph is serialized by a positioned read of those rows alone; float32, or in a half `dtype`. For the head
 *  read in vocabulary chunks (./head-chunks.ts): each chunk is a weight of its own, never a slice of a whole. */
export function checkpointWeightRows(
  g: GraphBuilder,
  ckpt: Checkpoint,
  dtype: ComputeDtype = "float32",
): (name: string, from: number, to: number) => string {
  return (name, from, to) => {
    const key = `${name}.rows${from}_${to}`;
    if (g.initializers.has(key)) return key;
    const [rows, cols] = ckpt.shapeOf(name) as [number, number];
    if (ckpt.shapeOf(name).length !== 2 || !(0 <= from && from < to && to <= rows))
      throw new Error(`rows [${from}, ${to}) are not within ${name} [${ckpt.shapeOf(name).join(", ")}]`);
    const dims = [to - from, cols];
    const type = weightElemType(dtype, dims);
    const read = () => {
      const reader = new TensorReader(ckpt);
      try {
        return reader.readInto(name, new Float32Array((to - from) * cols), from * cols);
      } finally {
        reader.close();
      }
    };
    g.initializer(key, {
      type,
      dims,
      data: new Float32Array(0),
      read: type === "float16" || type === "bfloat16" ? () => toHalfBits(read(), type) : read,
      stored: storedRange(ckpt.entry(name), from * cols),
      contentKey: contentKey(ckpt.entry(name), type, from * cols, (to - from) * cols),
    });
    return key;
  };
}

const STORED_ELEM: Partial<Record<TensorEntry["dtype"], ElemType>> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
};

/** Where a stored float tensor's values lie, from element `first` on (a graph session can read them there:
 *  ../graph/stored-weights.ts); undefined for a dtype a session cannot read as it is (F64). */
function storedRange(entry: TensorEntry, first = 0): StoredRange | undefined {
  const type = STORED_ELEM[entry.dtype];
  return type && { file: entry.file, offset: entry.dataOffset + first * DTYPE_BYTES[entry.dtype], type };
}

/** What a weight read from `entry` holds (elements [first, first + count) in `type`), for the converted-weights
 *  cache (../graph/weight-cache.ts): the file by path, inode, size and modification time, so a rewritten file
 *  is a new key. */
function contentKey(entry: TensorEntry, type: ElemType, first = 0, count?: number): string {
  const s = statSync(entry.file);
  const n = count ?? entry.shape.reduce((a, b) => a * b, 1);
  return JSON.stringify([
    entry.file,
    s.ino,
    s.size,
    s.mtimeMs,
    entry.dataOffset,
    entry.dtype,
    first,
    n,
    type,
  ]);
}
