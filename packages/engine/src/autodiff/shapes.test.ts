// The model graphs must be fully shape-inferred: the VJP rules rely on ranks, and known dims keep broadcast
// reductions static (no run-time shape arithmetic in the backward graph).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { readConfig } from "@shortened/hf";
import { GraphBuilder } from "../graph/builder.js";
import { expectedShape } from "../models/architecture.js";
import { buildForwardGraph } from "../models/forward-graph.js";
import { grad } from "./grad.js";
import { inferShapes } from "./shapes.js";

const fixtures = fileURLToPath(new URL("../fixtures/train/", import.meta.url));

for (const name of ["llama", "mistral", "qwen2", "gemma", "llama-bias"]) {
  test(`${name}: every forward value has a known shape, and the backward graph has no run-time broadcast reduction`, () => {
    const c = readConfig(`${fixtures}${name}`);
    const g = new GraphBuilder();
    const params: string[] = [];
    const fg = buildForwardGraph(c, {
      graph: g,
      weight: (n) => {
        if (!params.includes(n)) params.push(g.input(n, "float32", expectedShape(c, n)!));
        return n;
      },
      nll: true,
    });
    const { shapes } = inferShapes(g);
    const unknown = g.nodes.filter((n) =>
      n.outputs.some((o) => !shapes.get(o) || shapes.get(o)!.includes(null)),
    );
    assert.deepEqual(
      unknown.map((n) => n.opType),
      [],
    );
    const loss = g.node("ReduceSum", [fg.outputs.nll!], { keepdims: 0 });
    const before = g.nodes.length;
    grad(g, loss, params);
    assert.equal(g.nodes.slice(before).filter((n) => n.opType === "NonZero").length, 0);
  });
}
