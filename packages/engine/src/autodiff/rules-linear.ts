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
  if (needs[0]) {
    const full = c.node("MatMul", [gy!, c.transposeLast2(b, rb)]);
    ga = c.sumToShape(full, [...batch, sa[ra - 2]!, sa[ra - 1]!], a);
  }
  if (needs[1]) {
    if (rb === 2 && ra > 2) {
      // A weight times a batched activation: Aᵀ·G with the leading axes stacked, one flat product.
      const a2 = c.node("Flatten", [a], { axis: -1 });
      const g2 = c.node("Flatten", [gy!], { axis: -1 });
      gb = c.node("Gemm", [a2, g2], { transA: 1 });
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

export const linearRules: Record<string, VjpRule> = { MatMul: matMul, Gemm: gemm };
