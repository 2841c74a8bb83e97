// The lineage of a model's versions as a left-to-right graph: base → pruned (which blocks) → retrained or
// merged → …, laid out by dagre (loaded on first use). Each node links to its version; the selected one
// is outlined.
import { useEffect, useState } from "react";
import { Link } from "../lib/router.js";
import type { Version } from "../lib/types.js";
import { edgeLabel, nodeLabel } from "./lineage.js";

interface Laid {
  width: number;
  height: number;
  nodes: { v: Version; x: number; y: number; w: number; h: number; label: string }[];
  edges: { points: { x: number; y: number }[]; label: string; x: number; y: number }[];
}

const NODE_W = 180;
const NODE_H = 40;

export function LineageGraph({
  modelName,
  versions,
  selectedId,
  hrefOf,
}: {
  modelName: string;
  versions: Version[];
  selectedId?: string;
  hrefOf: (v: Version) => string;
}) {
  const [laid, setLaid] = useState<Laid>();
  useEffect(() => {
    let alive = true;
    import("@dagrejs/dagre").then(({ default: dagre }) => {
      const g = new dagre.graphlib.Graph();
      g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 120, marginx: 10, marginy: 10 });
      g.setDefaultEdgeLabel(() => ({}));
      const ids = new Set(versions.map((v) => v.id));
      for (const v of versions) g.setNode(v.id, { width: NODE_W, height: NODE_H });
      for (const v of versions)
        if (v.parentId && ids.has(v.parentId))
          g.setEdge(v.parentId, v.id, { label: edgeLabel(v), width: 110, height: 16, labelpos: "c" });
      dagre.layout(g);
      if (!alive) return;
      const graph = g.graph();
      setLaid({
        width: graph.width ?? 400,
        height: graph.height ?? 100,
        nodes: versions.map((v) => {
          const n = g.node(v.id);
          return { v, x: n.x, y: n.y, w: NODE_W, h: NODE_H, label: nodeLabel(modelName, v) };
        }),
        edges: g.edges().map((e) => {
          const d = g.edge(e) as { points: { x: number; y: number }[]; label: string; x: number; y: number };
          return { points: d.points, label: d.label, x: d.x, y: d.y };
        }),
      });
    });
    return () => {
      alive = false;
    };
  }, [versions, modelName]);
  if (!laid) return <p>Laying out the lineage…</p>;
  return (
    <figure className="lineage-figure" aria-label={`lineage of ${modelName}: ${versions.length} versions`}>
      <svg
        className="lineage"
        width={laid.width}
        height={laid.height}
        viewBox={`0 0 ${laid.width} ${laid.height}`}
        data-testid="lineage-graph"
      >
        <title>{`lineage of ${modelName}`}</title>
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="#4b5563" />
          </marker>
        </defs>
        {laid.edges.map((e) => (
          <g key={`${e.points[0].x},${e.points[0].y}-${e.x},${e.y}`}>
            <polyline
              points={e.points.map((p) => `${p.x},${p.y}`).join(" ")}
              fill="none"
              stroke="#4b5563"
              strokeWidth={1.5}
              markerEnd="url(#arrow)"
            />
            <text x={e.x} y={e.y - 6} textAnchor="middle" className="edge-label">
              {e.label}
            </text>
          </g>
        ))}
        {laid.nodes.map((n) => (
          <Link key={n.v.id} href={hrefOf(n.v)} aria-label={`version ${n.label}`}>
            <rect
              x={n.x - n.w / 2}
              y={n.y - n.h / 2}
              width={n.w}
              height={n.h}
              rx={6}
              className={`node node-${n.v.kind}${n.v.id === selectedId ? " selected" : ""}`}
            />
            <text x={n.x} y={n.y + 4} textAnchor="middle" className="node-label">
              {n.label}
            </text>
          </Link>
        ))}
      </svg>
    </figure>
  );
}
