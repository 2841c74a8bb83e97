// A checkpoint opened for compute, and the default `weight` hook of the forward graph: each checkpoint tensor
// becomes a float32 initializer (F16/BF16 widened on read), checked against the shape the config implies before
// any compute (Checkpoint.open checks the tensors against the config).
import { UserError } from "@shortened/contracts";
import { Checkpoint } from "@shortened/hf";
import type { GraphBuilder } from "../graph/builder.js";
import { gptqMatMul, type QuantizedRunOptions } from "../quantize/gptq-matmul.js";
import type { WeightHooks } from "./forward-graph.js";

/** Opens a checkpoint folder (or passes an open one through): Checkpoint.open has checked its tensors against
 *  its config (@shortened/hf tensor-layout.ts). */
export function openCheckpoint(model: string | Checkpoint): Checkpoint {
  const ckpt = typeof model === "string" ? Checkpoint.open(model) : model;
  return ckpt;
}

/** The weight hooks of a checkpoint: float tensors as initializers, and for a GPTQ checkpoint the quantized
 *  linears through MatMulNBits (../quantize/gptq-matmul.ts). */
export function checkpointHooks(
  g: GraphBuilder,
  ckpt: Checkpoint,
  opts: QuantizedRunOptions = {},
): Pick<WeightHooks, "weight" | "matmul"> {
  return { weight: checkpointWeights(g, ckpt), matmul: gptqMatMul(g, ckpt, opts) };
}

/** The default weight hook: the named tensor as a float32 initializer of `g` (added once, on first use), read from
 *  the checkpoint only when the graph is serialized. */
export function checkpointWeights(g: GraphBuilder, ckpt: Checkpoint): (name: string) => string {
  return (name) => {
    if (!g.initializers.has(name)) {
      const entry = ckpt.tensors.get(name);
      if (!entry && !ckpt.quantizedModule(name))
        throw new UserError("invalid_checkpoint", `${ckpt.dir} lacks tensor ${name}`);
      // Read when the graph is written out, so only one tensor at a time is in JavaScript (../graph/builder.ts).
      g.initializer(name, {
        type: "float32",
        dims: ckpt.shapeOf(name),
        data: new Float32Array(0),
        read: () => ckpt.readFloat32(name),
      });
    }
    return name;
  };
}
