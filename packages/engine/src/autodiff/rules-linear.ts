// VJP rules of MatMul and Gemm. A weight matrix (rank 2) multiplied by a batched activation gets its
// gradient as one flat product (rows of every batch stacked), not a batched product summed afterwards.
import { attrNumber, type VjpRule } from "./context.js";

const matMul: VjpRule = (c, n, [gy], needs) => {
  const [a, b] = n.inputs as [string, string];
  const ra = c.rank(a, "MatMul");
  const rb = c.rank(b, "MatMul");
  if (ra < 2 || rb < 2) throw new Error("autodiff: MatMul of a vector is not supported");
  const sy = c.shape(n.outputs[0]!)!;
  const sa = c.shape(a)!;
  const sb = c.shape(b)!;
  const batch = sy.slice(0, -2);
  let ga: string | undefined;
  let gb: string | undefined;
  if (needs[0] && rb === 2 && !halfProduct(c, a)) {
    // A weight matrix (x·W, W often the folded transpose of a frozen initializer): gy·Wᵀ as Gemm with transB,
    // which reads W as it is. MatMul(gy, Transpose(W)) makes ONNX Runtime fold a second, transposed copy of
    // every frozen weight into the session (LoRA on a 300M model: 2.83 → 2.70 GB peak, and faster). Not for a
    // float16 product (../models/precision.ts): the CPU provider's float16 Gemm is a slow reference kernel
    // (one LoRA step of a 300M model: 810 s against 49 s); half products take the MatMul form below.
    const flat = ra === 2 ? gy! : c.node("Flatten", [gy!], { axis: -1 });
    const ga2 = c.node("Gemm", [flat, b], { transB: 1 });
    ga = ra === 2 ? ga2 : c.node("Reshape", [ga2, c.node("Shape", [a])]);
  } else if (needs[0] && rb === 2) {
    // A half product with a weight matrix: (gy·Wᵀ)ᵀ = W·gyᵀ, a MatMul that reads W as it is, with the
    // transposes on the activations (small) instead of a second, transposed copy of every frozen weight.
    const flat = ra === 2 ? gy! : c.node("Flatten", [gy!], { axis: -1 });
    const ga2 = c.node("Transpose", [c.node("MatMul", [b, c.node("Transpose", [flat], { perm: [1, 0] })])], {
      perm: [1, 0],
    });
    ga = ra === 2 ? ga2 : c.node("Reshape", [ga2, c.node("Shape", [a])]);
  } else if (needs[0]) {
    const full = c.node("MatMul", [gy!, c.transposeLast2(b, rb)]);
    ga = c.sumToShape(full, [...batch, sa[ra - 2]!, sa[ra - 1]!], a);
  }
  if (needs[1]) {
    if (rb === 2 && ra > 2) {
      // A weight times a batched activation: Aᵀ·G with the leading axes stacked, one flat product. A half
      // product takes MatMul(Transpose(A), G): Gemm(transA) in float16 is the CPU provider's slow reference kernel.
      const a2 = c.node("Flatten", [a], { axis: -1 });
      const g2 = c.node("Flatten", [gy!], { axis: -1 });
      gb = halfProduct(c, a)
        ? c.node("MatMul", [c.node("Transpose", [a2], { perm: [1, 0] }), g2])
        : c.node("Gemm", [a2, g2], { transA: 1 });
    } else {
      const full = c.node("MatMul", [c.transposeLast2(a, ra), gy!]);
      gb = c.sumToShape(full, [...batch, sb[rb - 2]!, sb[rb - 1]!], b);
    }
  }
  return [ga, gb];
};

const gemm: VjpRule = (c, n, [gy], needs) => {
  const [a, b, cIn] = n.inputs as [string, string, string | undefined];
  const alpha = attrNumber(n.attrs.alpha, 1);
  const beta = attrNumber(n.attrs.beta, 1);
  const tA = n.attrs.transA ? 1 : 0;
  const tB = n.attrs.transB ? 1 : 0;
  const al = { alpha: { float: alpha } };
  const ga = !needs[0]
    ? undefined
    : tA === 0
      ? c.node("Gemm", [gy!, b], { ...al, transB: tB ? 0 : 1 })
      : c.node("Gemm", [b, gy!], { ...al, transA: tB, transB: 1 });
  const gb = !needs[1]
    ? undefined
    : tB === 0
      ? c.node("Gemm", [a, gy!], { ...al, transA: tA ? 0 : 1 })
      : c.node("Gemm", [gy!, a], { ...al, transA: 1, transB: tA });
  let gc: string | undefined;
  if (cIn && needs[2]) {
    const scaled = beta === 1 ? gy! : c.node("Mul", [gy!, c.scalar(beta)]);
    gc = c.sumTo(scaled, n.outputs[0]!, cIn);
  }
  return [ga, gb, gc];
};

/** Whether `a` is a Cast to float16/bfloat16 (a half-precision MatMul operand, ../models/precision.ts). */
function halfProduct(c: Parameters<VjpRule>[0], a: string): boolean {
  const producer = c.g.nodes.find((n) => n.outputs.includes(a));
  return producer?.opType === "Cast" && (producer.attrs.to === 10 || producer.attrs.to === 16);
}

export const linearRules: Record<string, VjpRule> = { MatMul: matMul, Gemm: gemm };
