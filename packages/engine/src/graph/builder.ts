// A small typed builder over the ONNX protobuf. Nodes are kept as plain records so that later passes
// (reverse-mode differentiation, the training-step assembler) can read and extend the graph before it is
// serialized. Large tensors never go through the protobuf: `save` writes them as external data.
import { closeSync, openSync } from "node:fs";
import { basename } from "node:path";
import { IO_PIECE_BYTES, writeAllSync } from "@shortened/hf";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export type ElemType = "float32" | "float16" | "bfloat16" | "int64" | "int32" | "bool" | "float64" | "uint8";
export type Dim = number | string;
export type AttrValue =
  | number
  | string
  | number[]
  | string[]
  | Tensor
  | { float: number }
  | { floats: number[] }
  | { graph: Subgraph };
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

/** A constant tensor (initializer or attribute value). */
export interface Tensor {
  type: ElemType;
  dims: number[];
  data: TensorData;
  /** Values made when the graph is serialized, one tensor at a time (then `data` is empty): a graph over a large
   *  checkpoint never holds its weights in JavaScript while ONNX Runtime holds its own. */
  read?: () => TensorData;
  /** Where the values lie in a file (row-major `dims`, little-endian, in `stored.type`, which may differ from the
   *  tensor's: `read` converts). ./stored-weights.ts hands ONNX Runtime that file range instead of a copy. */
  stored?: StoredRange;
  /** What `read` returns, as a string that changes when the values do (its source file's identity, offset, dtypes,
   *  transposition): the key of the converted-weights cache (./weight-cache.ts). */
  contentKey?: string;
  /** Set by ./stored-weights.ts: serialize as a reference to this file range (`location` relative to the folder
   *  the session names) instead of writing the values anywhere. */
  external?: { location: string; offset: number };
}

/** A tensor's bytes in a file: `type` is the element type they are stored in. */
export interface StoredRange {
  file: string;
  offset: number;
  type: ElemType;
}

/** Bytes a tensor serializes to. */
export function tensorBytes(t: Tensor): number {
  if (!t.read && !t.external) return t.data.byteLength;
  const size =
    t.type === "float64" || t.type === "int64"
      ? 8
      : t.type === "float32" || t.type === "int32"
        ? 4
        : t.type === "bool" || t.type === "uint8"
          ? 1
          : 2;
  return t.dims.reduce((a, b) => a * b, 1) * size;
}

export interface Node {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name: string;
}

export interface ValueInfo {
  name: string;
  type: ElemType;
  shape: Dim[];
}

/** The body of a control-flow node (an `If` branch): nodes that may read any value of the enclosing graph,
 *  and the values it returns. Built with `GraphBuilder.subgraph`. */
export interface Subgraph {
  nodes: Node[];
  outputs: { name: string; type: ElemType }[];
}

const ELEM: Record<ElemType, number> = {
  float32: 1, // TensorProto.FLOAT
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

/** Tensors at least this large are written as external data rather than inside the protobuf. */
export const EXTERNAL_THRESHOLD_BYTES = 1024;
/** Offsets of external tensors: a multiple of the page and allocation granularity, so that ONNX Runtime maps
 *  them from the file (CPU) instead of reading each into a heap buffer it frees after building the session. */
const EXTERNAL_ALIGN = 65536;

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly initializers = new Map<string, Tensor>();
  /** Opset of the default domain; com.microsoft ops are imported at version 1 when used. */
  readonly opset: number;
  private counter = 0;

  constructor(opts: { opset?: number } = {}) {
    this.opset = opts.opset ?? 18;
  }

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push({ name, type, shape });
    return name;
  }

  output(name: string, type: ElemType, shape: Dim[]): string {
    this.outputs.push({ name, type, shape });
    return name;
  }

  initializer(name: string, tensor: Tensor): string {
    if (this.initializers.has(name)) throw new Error(`initializer ${name} defined twice`);
    this.initializers.set(name, tensor);
    return name;
  }

  /** A small constant, stored as an initializer with a generated name. */
  constant(type: ElemType, dims: number[], values: number[] | bigint[]): string {
    const data = makeData(type, values);
    return this.initializer(this.fresh("const"), { type, dims, data });
  }

  scalar(value: number, type: ElemType = "float32"): string {
    return this.constant(type, [], [value]);
  }

  int64s(values: number[]): string {
    return this.constant(
      "int64",
      [values.length],
      values.map((v) => BigInt(v)),
    );
  }

  /** Appends a node and returns its output names. */
  nodeN(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs = 1,
    domain = "",
  ): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({ opType, domain, inputs, outputs: outs, attrs, name: this.fresh(`n_${opType}`) });
    return outs;
  }

  /** Appends a single-output node and returns its output name. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, domain = ""): string {
    return this.nodeN(opType, inputs, attrs, 1, domain)[0]!;
  }

  /** Records the nodes that `build` appends as a subgraph (e.g. an `If` branch) instead of adding them to
   *  this graph. Constants made inside stay initializers of the outer graph, which the branch can read. */
  subgraph(build: () => string[], type: ElemType = "float32"): Subgraph {
    const mark = this.nodes.length;
    const outs = build();
    const nodes = this.nodes.splice(mark);
    return { nodes, outputs: outs.map((name) => ({ name, type })) };
  }

  /** Renames the value produced by the last node that wrote `from` (used to give outputs stable names). */
  rename(from: string, to: string): string {
    renameIn(this.nodes, from, to);
    return to;
  }

  /** Serializes to ONNX bytes. With `externalDataFile`, large initializers are written to that file
   *  (64-byte aligned, any size: in write calls of at most `pieceBytes`) and referenced by location relative
   *  to the model file. Tensors marked `external` (./stored-weights.ts) are written as references to their file
   *  range, with no bytes read. */
  toBytes(externalDataFile?: string, pieceBytes = IO_PIECE_BYTES): Uint8Array {
    let fd: number | undefined;
    let offset = 0;
    const location = externalDataFile ? basename(externalDataFile) : "";
    const initializer: onnxProto.onnx.ITensorProto[] = [];
    try {
      if (externalDataFile) fd = openSync(externalDataFile, "w");
      for (const [name, t] of this.initializers) {
        if (t.external) {
          initializer.push(externalTensor(name, t, t.external.location, t.external.offset, tensorBytes(t)));
          continue;
        }
        const data = t.read ? t.read() : t.data;
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        if (fd !== undefined && bytes.byteLength >= EXTERNAL_THRESHOLD_BYTES) {
          const pad = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
          if (pad) writeAllSync(fd, new Uint8Array(pad));
          offset += pad;
          writeAllSync(fd, bytes, null, pieceBytes);
          initializer.push(externalTensor(name, t, location, offset, bytes.byteLength));
          offset += bytes.byteLength;
        } else {
          initializer.push({ name, dataType: ELEM[t.type], dims: t.dims, rawData: bytes });
        }
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const domains = new Set(this.nodes.map((n) => n.domain).filter((d) => d !== ""));
    const model: onnxProto.onnx.IModelProto = {
      irVersion: 8,
      producerName: "shortened",
      opsetImport: [
        { domain: "", version: this.opset },
        ...[...domains].map((domain) => ({ domain, version: 1 })),
      ],
      graph: {
        name: "graph",
        node: this.nodes.map(encodeNode),
        initializer,
        input: this.inputs.map(encodeValueInfo),
        output: this.outputs.map(encodeValueInfo),
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}

function externalTensor(
  name: string,
  t: Tensor,
  location: string,
  offset: number,
  length: number,
): onnxProto.onnx.ITensorProto {
  return {
    name,
    dataType: ELEM[t.type],
    dims: t.dims,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(length) },
    ],
  };
}

/** Renames a value in nodes and, recursively, in the branches of control-flow nodes that read it. */
function renameIn(nodes: Node[], from: string, to: string): void {
  for (const n of nodes) {
    n.inputs = n.inputs.map((x) => (x === from ? to : x));
    n.outputs = n.outputs.map((x) => (x === from ? to : x));
    for (const v of Object.values(n.attrs)) {
      if (typeof v === "object" && v !== null && "graph" in v) {
        renameIn(v.graph.nodes, from, to);
        for (const o of v.graph.outputs) if (o.name === from) o.name = to;
      }
    }
  }
}

function makeData(type: ElemType, values: number[] | bigint[]): TensorData {
  switch (type) {
    case "float32":
      return Float32Array.from(values as number[]);
    case "float64":
      return Float64Array.from(values as number[]);
    case "int64":
      return BigInt64Array.from((values as (number | bigint)[]).map((v) => BigInt(v)));
    case "int32":
      return Int32Array.from(values as number[]);
    case "bool":
      return Uint8Array.from(values as number[]);
    default:
      throw new Error(`constant of type ${type} is not supported`);
  }
}

function encodeValueInfo(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function encodeNode(n: Node): onnxProto.onnx.INodeProto {
  return {
    opType: n.opType,
    domain: n.domain,
    input: n.inputs,
    output: n.outputs,
    name: n.name,
    attribute: Object.entries(n.attrs).map(([k, v]) => encodeAttr(k, v)),
  };
}

function encodeSubgraph(name: string, sub: Subgraph): onnxProto.onnx.IGraphProto {
  return {
    name,
    node: sub.nodes.map(encodeNode),
    // Branch outputs carry only their element type: their shapes follow from the enclosing graph.
    output: sub.outputs.map((o) => ({ name: o.name, type: { tensorType: { elemType: ELEM[o.type] } } })),
  };
}

function encodeAttr(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === "number")
    return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  if (typeof v === "string") return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "number")) return { name, type: A.INTS, ints: v as number[] };
    return { name, type: A.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
  }
  if ("graph" in v) return { name, type: A.GRAPH, g: encodeSubgraph(name, v.graph) };
  if ("float" in v) return { name, type: A.FLOAT, f: v.float };
  if ("floats" in v) return { name, type: A.FLOATS, floats: v.floats };
  const t = v as Tensor;
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, type: A.TENSOR, t: { dataType: ELEM[t.type], dims: t.dims, rawData: bytes } };
}
