// Frozen weights written transposed. A linear layer reads its weight W [out, in] through Transpose(W) (y = x·Wᵀ),
// and ONNX Runtime folds that Transpose while it builds the session: it reads W from the external-data file into
// a buffer, makes the transposed copy, and frees the first buffer into the process heap, which glibc keeps (a 1.1B
// float16 LoRA session: 3.3 GB resident after creation for 2.2 GB of weights). Writing Wᵀ itself, page-aligned
// (./builder.ts), lets ONNX Runtime map it from the file as it is: one copy, no heap churn. Only weights read
// lazily from a checkpoint (`Tensor.read`) and read by nothing but 2-D Transposes are rewritten; the values the
// graph computes are the same. Weights ORT reads from the checkpoint's own file (./stored-weights.ts) have no
// `read` and keep their Transpose, which ORT folds before prepacking.
import type { GraphBuilder, Node, TensorData } from "./builder.js";

/** Rewrites Transpose(W) of lazily read rank-2 initializers to a transposed initializer; returns how many. */
export function pretransposeWeights(g: GraphBuilder): number {
  const readers = new Map<string, Node[]>();
  const blocked = new Set<string>(g.outputs.map((o) => o.name));
  const visit = (nodes: Node[], top: boolean) => {
    for (const n of nodes) {
      for (const i of n.inputs) {
        if (!g.initializers.has(i)) continue;
        if (top && isTranspose2d(n)) readers.set(i, [...(readers.get(i) ?? []), n]);
        else blocked.add(i);
      }
      for (const v of Object.values(n.attrs)) {
        if (typeof v === "object" && v !== null && "graph" in v) {
          visit(v.graph.nodes, false);
          for (const o of v.graph.outputs) blocked.add(o.name);
        }
      }
    }
  };
  visit(g.nodes, true);
  let count = 0;
  for (const [name, transposes] of readers) {
    const t = g.initializers.get(name)!;
    const read = t.read;
    if (!read || t.dims.length !== 2 || blocked.has(name)) continue;
    if (transposes.some((n) => blocked.has(n.outputs[0]!))) continue;
    const [rows, cols] = t.dims as [number, number];
    const target = transposes[0]!.outputs[0]!;
    const drop = new Set(transposes);
    for (let i = g.nodes.length - 1; i >= 0; i--) if (drop.has(g.nodes[i]!)) g.nodes.splice(i, 1);
    for (const n of transposes.slice(1)) g.rename(n.outputs[0]!, target);
    g.initializers.delete(name);
    g.initializer(target, {
      type: t.type,
      dims: [cols, rows],
      data: t.data,
      read: () => transpose2d(read(), rows, cols),
      contentKey: t.contentKey && `transposed(${t.contentKey})`,
    });
    count++;
  }
  return count;
}

function isTranspose2d(n: Node): boolean {
  if (n.opType !== "Transpose" || n.domain !== "") return false;
  const perm = n.attrs.perm as number[] | undefined;
  return perm === undefined || (perm.length === 2 && perm[0] === 1 && perm[1] === 0);
}

/** [rows, cols] → [cols, rows], in 64 × 64 tiles. */
export function transpose2d<T extends TensorData>(data: T, rows: number, cols: number): T {
  const out = new (data.constructor as new (n: number) => T)(rows * cols);
  const B = 64;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(rows, i0 + B);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * rows + i] = data[i * cols + j]!;
    }
  }
  return out;
}
