// A checkpoint opened for compute, and the default `weight` hook of the forward graph: each checkpoint tensor
// becomes an initializer, float32 (F16/BF16 widened on read) or, in a half compute dtype, its matrices in that
// dtype (./precision.ts), checked against the shape the config implies before
// any compute (Checkpoint.open checks the tensors against the config).
import { UserError } from "@shortened/contracts";
import { Checkpoint } from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";
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
      });
    }
    return name;
  };
}
