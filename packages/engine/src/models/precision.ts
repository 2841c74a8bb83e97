// The compute dtype of a forward graph. float32 is the reference. float16 (and bfloat16, on CUDA only) follows
// torch.autocast: every weight matrix (projections, embedding, head) is held in the half dtype, rounded to nearest
// even from the checkpoint's stored values, and every MatMul runs in it; the residual stream, RMSNorm (its
// mean of squares), rotary tables, softmax, activations and the log-softmax/NLL stay float32, with a Cast on each
// side of a MatMul. Why: the memory that matters is the weights (2 bytes instead of 4 per parameter), and the
// MatMuls are the only ops whose speed changes on a GPU; the reductions are where half precision loses digits
// (a sum of 2048 squares, a log-sum-exp over 32000 logits), and transformers itself upcasts exactly those
// (LlamaRMSNorm's float32 variance, eager attention's float32 softmax, the loss's `logits.float()`).
import { computeDtypes, UserError } from "@shortened/contracts";
import { float32ToBf16Bytes, float32ToF16Bytes, halfToFloat } from "@shortened/hf";
import type { ElemType, GraphBuilder } from "../graph/builder.js";
import type { Device } from "../graph/session.js";

/** The contracts' list (job specs, the CLI's --dtype): one parser for every entry point. */
export const COMPUTE_DTYPES = computeDtypes;
export type ComputeDtype = (typeof COMPUTE_DTYPES)[number];

/** ONNX TensorProto element codes for Cast's `to`. */
const CAST_TO: Record<ComputeDtype, number> = { float32: 1, float16: 10, bfloat16: 16 };

/** Whether a tensor of these dims is held in the compute dtype: matrices are (the MatMul operands); vectors
 *  (norm weights, biases) stay float32, small and added to float32 values. */
export function heldInComputeDtype(dims: readonly number[]): boolean {
  return dims.length === 2;
}

/** The element type a tensor of these dims has in a graph of this compute dtype. */
export function weightElemType(dtype: ComputeDtype, dims: readonly number[]): ElemType {
  return dtype !== "float32" && heldInComputeDtype(dims) ? dtype : "float32";
}

/** float32 values in the half dtype's bits, rounded to nearest even (the checkpoint's BF16/F16 values widen to
 *  float32 exactly first, so this is one rounding from the stored value). */
export function toHalfBits(values: Float32Array, dtype: "float16" | "bfloat16"): Uint16Array {
  const bytes = dtype === "float16" ? float32ToF16Bytes(values) : float32ToBf16Bytes(values);
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

/** Rounds float32 values in place to the half dtype's values (what a held weight widened back holds). */
export function roundThroughHalf(values: Float32Array, dtype: "float16" | "bfloat16"): void {
  const bits = toHalfBits(values, dtype);
  if (dtype === "bfloat16") {
    const out = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  } else {
    for (let i = 0; i < bits.length; i++) values[i] = halfToFloat(bits[i]!);
  }
}

/** MatMul(a, b) in the compute dtype, on float32 `a` (cast down) and `b` already in the compute dtype when
 *  `bHeld` (a held weight) or float32 (cast down here); the product comes back as float32. */
export function computeMatMul(
  g: GraphBuilder,
  dtype: ComputeDtype,
  a: string,
  b: string,
  bHeld: boolean,
): string {
  if (dtype === "float32") return g.node("MatMul", [a, b]);
  const to = CAST_TO[dtype];
  const a16 = g.node("Cast", [a], { to });
  const b16 = bHeld ? b : g.node("Cast", [b], { to });
  return g.node("Cast", [g.node("MatMul", [a16, b16])], { to: CAST_TO.float32 });
}

/** A held weight cast back to float32 (a lookup table read by Gather, then widened). */
export function toFloat32(g: GraphBuilder, dtype: ComputeDtype, x: string): string {
  return dtype === "float32" ? x : g.node("Cast", [x], { to: CAST_TO.float32 });
}

/** Refuses a compute dtype the device cannot run: ONNX Runtime's CPU provider has no bfloat16 kernels
 *  (MatMul, Add, Softmax: "Could not find an implementation"). `field` names the option in the message. */
export function checkComputeDtype(
  dtype: ComputeDtype | undefined,
  device: Device | undefined,
  field = "dtype",
): ComputeDtype {
  const d = dtype ?? "float32";
  if (!COMPUTE_DTYPES.includes(d))
    throw new UserError("bad_request", `\`${field}\` must be one of ${COMPUTE_DTYPES.join(", ")} (got ${d})`);
  if (d === "bfloat16" && (device ?? "cpu") !== "cuda") {
    throw new UserError(
      "bad_request",
      `\`${field}\` bfloat16 needs the CUDA execution provider (\`device\` cuda): ONNX Runtime's CPU provider has no bfloat16 MatMul; use float16 or float32 on CPU`,
    );
  }
  return d;
}
