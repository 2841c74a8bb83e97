// Malformed checkpoints for the fuzzer (test/checkpoint-fuzz.test.ts samples them, bench/checkpoint-fuzz.ts runs
// them all): each case is one mutation of a tiny committed checkpoint (config.json values, the safetensors
// header and data section, the shard index) that makes it unloadable. The list is enumerated, not random, so a
// failure names a case that can be rebuilt. Every case must be refused: a mutation that turned out harmless
// would show up as an accepted case, and be a bug in this list or a gap in validation.
import { mkdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { copyModel, shardedModel, singleFileModel } from "./bad-checkpoints.js";

export interface MalformedCase {
  /** stable, unique, file-name safe */
  id: string;
  family: "config" | "header" | "layout" | "data" | "index" | "files";
  /** writes the broken checkpoint folder at `dest` (which must not exist) */
  build(dest: string): void;
}

type Json = Record<string, unknown>;
type Entry = { dtype: unknown; shape: unknown; data_offsets: unknown };

const cases: MalformedCase[] = [];
const add = (family: MalformedCase["family"], id: string, build: (dest: string) => void) =>
  cases.push({
    id: `${String(cases.length).padStart(3, "0")}-${family}-${id}`.replace(/[^\w.-]+/g, "_").slice(0, 120),
    family,
    build,
  });

const st = (dest: string) => join(dest, "model.safetensors");

function readHeader(file: string): { header: Json; data: Buffer; raw: Buffer } {
  const bytes = readFileSync(file);
  const len = Number(bytes.readBigUInt64LE(0));
  const raw = bytes.subarray(8, 8 + len);
  return { header: JSON.parse(raw.toString("utf8")) as Json, data: bytes.subarray(8 + len), raw };
}

function writeRaw(
  file: string,
  headerBytes: Buffer,
  data: Buffer,
  declaredLength = headerBytes.length,
): void {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(declaredLength));
  writeFileSync(file, Buffer.concat([prefix, headerBytes, data]));
}

/** Copies the single-file model to `dest` and rewrites its header with `edit` (data unchanged unless returned). */
function withHeader(dest: string, edit: (h: Json, data: Buffer) => unknown): void {
  copyModel(singleFileModel, dest);
  const { header, data } = readHeader(st(dest));
  const edited = edit(header, data);
  const newData = Buffer.isBuffer(edited) ? edited : data;
  writeRaw(st(dest), Buffer.from(JSON.stringify(header)), newData);
}

function withConfig(dest: string, edit: (c: Json) => void, model = singleFileModel): void {
  copyModel(model, dest);
  const c = JSON.parse(readFileSync(join(dest, "config.json"), "utf8")) as Json;
  edit(c);
  writeFileSync(join(dest, "config.json"), JSON.stringify(c));
}

const baseHeader = readHeader(join(singleFileModel, "model.safetensors")).header;
/** Tensor names of the base model in data order. */
const tensorNames = Object.keys(baseHeader)
  .filter((n) => n !== "__metadata__")
  .sort(
    (a, b) =>
      ((baseHeader[a] as Entry).data_offsets as number[])[0]! -
      ((baseHeader[b] as Entry).data_offsets as number[])[0]!,
  );
/** A spread of tensors to mutate: first, last, embedding, a norm, a projection in the middle. */
const targets = [
  ...new Set([
    tensorNames[0]!,
    tensorNames.at(-1)!,
    "model.embed_tokens.weight",
    "model.norm.weight",
    "model.layers.2.mlp.gate_proj.weight",
    "model.layers.1.mlp.down_proj.weight",
    "lm_head.weight",
  ]),
];

// ---- config.json values: out of bounds, wrong types, and values the tensors contradict
const configValues: [string, unknown[]][] = [
  ["num_hidden_layers", [0, -1, 1e9, 2.5, "4", true, [4], {}, 1e300, 3, 5, 1025]],
  ["hidden_size", [0, -16, 1e9, "16", 17, 32, 8, null]],
  ["intermediate_size", [0, -1, 1e12, 33, 16, "32", null]],
  ["num_attention_heads", [0, -2, 1e6, 3, 4, "2", null]],
  ["num_key_value_heads", [0, 3, 1e6, 1, 4, "2", -2]],
  ["head_dim", [0, 3, 7, 1e6, 16, 4, "8", -8]],
  ["vocab_size", [0, -64, 1e9, 65, 63, "64", null, 2 ** 25]],
  ["max_position_embeddings", [0, -1, 1e12, "2048", 2.5]],
  ["rms_norm_eps", [-1, 0, 1, 1e9, "1e-6", [], {}]],
  ["rope_theta", [0, -10000, "10000", [], true]],
  ["hidden_act", ["relu", "tanh", "", "SILU", 5, ["silu"], "gelu_python"]],
  ["model_type", ["gpt2", "", 7, "llama2", "Llama", null, ["llama"]]],
  ["attention_bias", [true]],
  ["mlp_bias", [true]],
  ["rope_scaling", ["linear", 3, [1]]],
];
for (const [key, values] of configValues) {
  for (const v of values) {
    add("config", `${key}=${JSON.stringify(v)}`, (dest) =>
      withConfig(dest, (c) => {
        c[key] = v;
        if (key === "model_type") c["architectures"] = ["NotARealModel"];
      }),
    );
  }
}
add("config", "mistral-sliding_window=-4", (dest) =>
  withConfig(dest, (c) => {
    c["model_type"] = "mistral";
    c["sliding_window"] = -4;
  }),
);
add("config", "qwen2-without-qkv-biases", (dest) => withConfig(dest, (c) => (c["model_type"] = "qwen2")));
add("config", "gemma-head_dim-default-256", (dest) =>
  withConfig(dest, (c) => {
    c["model_type"] = "gemma";
    delete c["head_dim"];
  }),
);
add("config", "rope_theta=1e400", (dest) => {
  copyModel(singleFileModel, dest);
  const text = readFileSync(join(dest, "config.json"), "utf8");
  writeFileSync(join(dest, "config.json"), text.replace(/"rope_theta": [^,\n]+/, '"rope_theta": 1e400'));
});
const configFiles: [string, string | Buffer][] = [
  ["not-json", "{ this is not json"],
  ["empty", ""],
  ["array", "[1, 2, 3]"],
  ["null", "null"],
  ["string", '"llama"'],
  ["truncated", '{"model_type": "llama", "hidden_size": 16'],
  ["deep-200000", `{"model_type":"llama","x":${"[".repeat(200_000)}${"]".repeat(200_000)}}`],
  ["deep-objects-40", `{"model_type":"llama","x":${'{"a":'.repeat(40)}1${"}".repeat(40)}}`],
  ["huge-2MB", JSON.stringify({ model_type: "llama", pad: "x".repeat(2 << 20) })],
  ["invalid-utf8", Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])],
  ["nul-bytes", Buffer.alloc(64)],
];
for (const [id, content] of configFiles) {
  add("config", `file-${id}`, (dest) => {
    copyModel(singleFileModel, dest);
    writeFileSync(join(dest, "config.json"), content);
  });
}
add("files", "no-config", (dest) => {
  copyModel(singleFileModel, dest);
  unlinkSync(join(dest, "config.json"));
});
add("files", "config-is-a-folder", (dest) => {
  copyModel(singleFileModel, dest);
  unlinkSync(join(dest, "config.json"));
  mkdirSync(join(dest, "config.json"));
});
add("files", "no-weights", (dest) => {
  copyModel(singleFileModel, dest);
  unlinkSync(st(dest));
});
add("files", "weights-is-a-folder", (dest) => {
  copyModel(singleFileModel, dest);
  unlinkSync(st(dest));
  mkdirSync(st(dest));
});
for (const size of [0, 1, 7, 8, 9]) {
  add("files", `weights-${size}-bytes`, (dest) => {
    copyModel(singleFileModel, dest);
    truncateSync(st(dest), size);
  });
}

// ---- the safetensors header: length prefix, encoding, JSON shape
for (const delta of [-8, -3, -1, 1, 2, 8, 1000]) {
  add("header", `length${delta > 0 ? "+" : ""}${delta}`, (dest) => {
    copyModel(singleFileModel, dest);
    const bytes = readFileSync(st(dest));
    bytes.writeBigUInt64LE(bytes.readBigUInt64LE(0) + BigInt(delta), 0);
    writeFileSync(st(dest), bytes);
  });
}
for (const [id, len] of [
  ["length-0", 0n],
  ["length-2^63", 1n << 63n],
  ["length-max", (1n << 64n) - 1n],
  ["length-file-size", -1n],
] as const) {
  add("header", id, (dest) => {
    copyModel(singleFileModel, dest);
    const bytes = readFileSync(st(dest));
    bytes.writeBigUInt64LE(len === -1n ? BigInt(bytes.length) : len, 0);
    writeFileSync(st(dest), bytes);
  });
}
const headerTexts: [string, string | Buffer][] = [
  ["empty-object", "{}"],
  ["array", "[]"],
  ["null", "null"],
  ["number", "12345678"],
  ["not-json", '{"a": nope}'],
  ["leading-space", ' {"a":1}'],
  ["deep-200000", `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`],
  ["deep-10", `{"a":${"[".repeat(10)}${"]".repeat(10)}}`],
  ["bom", "\uFEFF{}"],
];
for (const [id, text] of headerTexts) {
  add("header", `json-${id}`, (dest) => {
    copyModel(singleFileModel, dest);
    const { data } = readHeader(st(dest));
    writeRaw(st(dest), Buffer.from(text), data);
  });
}
for (const target of targets) {
  add("header", `invalid-utf8-name-${target}`, (dest) => {
    copyModel(singleFileModel, dest);
    const { raw, data } = readHeader(st(dest));
    const at = raw.indexOf(`"${target}"`) + 1 + target.lastIndexOf(".") + 1;
    const bytes = Buffer.from(raw);
    bytes[at] = 0xff; // "model.norm.weight" -> "model.norm.\xffeight": no UTF-8 sequence starts with 0xff
    writeRaw(st(dest), bytes, data);
  });
  add("header", `renamed-${target}`, (dest) =>
    withHeader(dest, (h) => {
      h[`${target.replace(/weight$/, "wéight")}`] = h[target];
      delete h[target];
      return undefined;
    }),
  );
}
add("header", "empty-name", (dest) =>
  withHeader(dest, (h) => {
    h[""] = h["model.norm.weight"];
    delete h["model.norm.weight"];
    return undefined;
  }),
);
add("header", "metadata-number", (dest) =>
  withHeader(dest, (h) => {
    h["__metadata__"] = { format: 1 };
  }),
);
add("header", "metadata-array", (dest) =>
  withHeader(dest, (h) => {
    h["__metadata__"] = ["pt"];
  }),
);
add("header", "metadata-string", (dest) =>
  withHeader(dest, (h) => {
    h["__metadata__"] = "pt";
  }),
);
// ---- one tensor's entry: dtype, shape, offsets
const entryEdits: [string, (e: Entry) => void][] = [
  [
    "dtype-F16",
    (e) => {
      e.dtype = "F16";
    },
  ],
  [
    "dtype-F64",
    (e) => {
      e.dtype = "F64";
    },
  ],
  [
    "dtype-I32",
    (e) => {
      e.dtype = "I32";
    },
  ],
  [
    "dtype-F8",
    (e) => {
      e.dtype = "F8_E4M3";
    },
  ],
  [
    "dtype-number",
    (e) => {
      e.dtype = 7;
    },
  ],
  [
    "dtype-missing",
    (e) => {
      delete (e as Partial<Entry>).dtype;
    },
  ],
  [
    "shape-reversed",
    (e) => {
      const shape = e.shape as number[];
      e.shape = [...shape].reverse().concat(shape.length === 1 ? [1] : []);
    },
  ],
  [
    "shape-leading-1",
    (e) => {
      e.shape = [1, ...(e.shape as number[])];
    },
  ],
  [
    "shape-flat",
    (e) => {
      const shape = e.shape as number[];
      e.shape = [shape.reduce((a, b) => a * b, 1)].concat(shape.length === 1 ? [1] : []);
    },
  ],
  [
    "shape-negative",
    (e) => {
      e.shape = (e.shape as number[]).map((d) => -d);
    },
  ],
  [
    "shape-float",
    (e) => {
      e.shape = (e.shape as number[]).map((d) => d + 0.5);
    },
  ],
  [
    "shape-string",
    (e) => {
      e.shape = "16";
    },
  ],
  [
    "shape-doubled",
    (e) => {
      e.shape = [(e.shape as number[])[0]! * 2, ...(e.shape as number[]).slice(1)];
    },
  ],
  [
    "shape-huge",
    (e) => {
      e.shape = [2 ** 40, 2 ** 40];
    },
  ],
  [
    "offsets-reversed",
    (e) => {
      e.data_offsets = [...(e.data_offsets as number[])].reverse();
    },
  ],
  [
    "offsets-shift+4",
    (e) => {
      e.data_offsets = (e.data_offsets as number[]).map((o) => o + 4);
    },
  ],
  [
    "offsets-shift-4",
    (e) => {
      e.data_offsets = (e.data_offsets as number[]).map((o) => o - 4);
    },
  ],
  [
    "offsets-far",
    (e) => {
      e.data_offsets = (e.data_offsets as number[]).map((o) => o + 1e9);
    },
  ],
  [
    "offsets-unsafe",
    (e) => {
      e.data_offsets = [2 ** 60, 2 ** 60 + 4];
    },
  ],
  [
    "offsets-three",
    (e) => {
      e.data_offsets = [...(e.data_offsets as number[]), 0];
    },
  ],
  [
    "offsets-string",
    (e) => {
      e.data_offsets = "0,4";
    },
  ],
  [
    "entry-array",
    (e) => {
      Object.assign(e, { shape: [[1]] });
    },
  ],
];
for (const target of targets) {
  for (const [id, edit] of entryEdits) {
    add("header", `${id}-${target}`, (dest) =>
      withHeader(dest, (h) => {
        edit(h[target] as Entry);
        return undefined;
      }),
    );
  }
  add("header", `entry-null-${target}`, (dest) =>
    withHeader(dest, (h) => {
      h[target] = null;
    }),
  );
  add("header", `entry-removed-${target}`, (dest) =>
    withHeader(dest, (h) => {
      delete h[target];
    }),
  );
}

// ---- tensors the config does not explain, or lacks (data section kept consistent, so only the layout is wrong)
/** Removes a tensor from header and data, shifting later offsets: a valid file missing that tensor. */
function dropTensor(h: Json, data: Buffer, name: string): Buffer {
  const [b, e] = (h[name] as Entry).data_offsets as [number, number];
  delete h[name];
  for (const [n, v] of Object.entries(h)) {
    if (n === "__metadata__") continue;
    const off = (v as Entry).data_offsets as [number, number];
    if (off[0] >= e) (v as Entry).data_offsets = [off[0] - (e - b), off[1] - (e - b)];
  }
  return Buffer.concat([data.subarray(0, b), data.subarray(e)]);
}
/** Appends a tensor of zeros with this name and shape. */
function appendTensor(h: Json, data: Buffer, name: string, shape: number[], dtype = "F32"): Buffer {
  const bytes = shape.reduce((a, b) => a * b, 1) * (dtype === "F32" || dtype === "I32" ? 4 : 2);
  h[name] = { dtype, shape, data_offsets: [data.length, data.length + bytes] };
  return Buffer.concat([data, Buffer.alloc(bytes)]);
}
for (const name of tensorNames) {
  add("layout", `missing-${name}`, (dest) => withHeader(dest, (h, data) => dropTensor(h, data, name)));
}
const extras: [string, number[], string?][] = [
  ["model.layers.0.self_attn.q_norm.weight", [8]],
  ["model.layers.3.self_attn.k_norm.weight", [8]],
  ["model.layers.0.self_attn.q_proj.bias", [16]],
  ["model.layers.1.mlp.down_proj.bias", [16]],
  ["model.layers.4.input_layernorm.weight", [16]],
  ["model.layers.99.mlp.up_proj.weight", [32, 16]],
  ["model.layers.01.input_layernorm.weight", [16]],
  ["model.layers.0.pre_feedforward_layernorm.weight", [16]],
  ["model.layers.0.self_attn.rotary_emb.inv_freq", [5]],
  ["model.embed_positions.weight", [2048, 16]],
  ["transformer.wte.weight", [64, 16]],
  ["score.weight", [2, 16]],
  ["lm_head.bias", [64]],
  ["extra", [1]],
];
for (const [name, shape, dtype] of extras) {
  add("layout", `extra-${name}`, (dest) =>
    withHeader(dest, (h, data) => appendTensor(h, data, name, shape, dtype)),
  );
}
for (const name of ["model.norm.weight", "model.layers.0.self_attn.q_proj.weight", "lm_head.weight"]) {
  add("layout", `reshaped-${name}`, (dest) =>
    withHeader(dest, (h, data) => {
      const shape = (h[name] as Entry).shape as number[];
      const out = dropTensor(h, data, name);
      return appendTensor(h, out, name, [shape[0]! + 1, ...shape.slice(1)]);
    }),
  );
  add("layout", `int-${name}`, (dest) =>
    withHeader(dest, (h) => {
      (h[name] as Entry).dtype = "I32";
      return undefined;
    }),
  );
}
add("layout", "weights-of-another-model", (dest) => {
  copyModel(singleFileModel, dest);
  const other = join(singleFileModel, "..", "..", "llama-bf16-h32", "model", "model.safetensors");
  writeFileSync(st(dest), readFileSync(other));
});

// ---- the data section: truncated or with bytes after the last tensor
for (const cut of [1, 3, 4, 64, 1000]) {
  add("data", `truncated-${cut}`, (dest) => {
    copyModel(singleFileModel, dest);
    truncateSync(st(dest), readFileSync(st(dest)).length - cut);
  });
}
for (const extra of [1, 4, 8, 4096]) {
  add("data", `trailing-${extra}`, (dest) => {
    copyModel(singleFileModel, dest);
    writeFileSync(st(dest), Buffer.concat([readFileSync(st(dest)), Buffer.alloc(extra, 0x20)]));
  });
}

// ---- sharded checkpoints: the index and its shards
const INDEX = "model.safetensors.index.json";
function withIndex(dest: string, edit: (idx: Json) => unknown): void {
  copyModel(shardedModel, dest);
  const idx = JSON.parse(readFileSync(join(dest, INDEX), "utf8")) as Json;
  const replaced = edit(idx);
  writeFileSync(join(dest, INDEX), typeof replaced === "string" ? replaced : JSON.stringify(idx));
}
const wm = (idx: Json) => idx["weight_map"] as Record<string, string>;
add("index", "not-json", (dest) => withIndex(dest, () => "{ nope"));
add("index", "deep-200000", (dest) =>
  withIndex(dest, () => `{"weight_map":${"[".repeat(200_000)}${"]".repeat(200_000)}}`),
);
add("index", "no-weight_map", (dest) =>
  withIndex(dest, (idx) => {
    delete idx["weight_map"];
  }),
);
add("index", "weight_map-array", (dest) =>
  withIndex(dest, (idx) => {
    idx["weight_map"] = [];
  }),
);
add("index", "shard-path-traversal", (dest) =>
  withIndex(dest, (idx) => {
    wm(idx)["model.norm.weight"] = "../model-00001-of-00002.safetensors";
  }),
);
add("index", "shard-absolute", (dest) =>
  withIndex(dest, (idx) => {
    wm(idx)["model.norm.weight"] = "/etc/passwd";
  }),
);
add("index", "shard-number", (dest) =>
  withIndex(dest, (idx) => {
    (wm(idx) as Json)["model.norm.weight"] = 1;
  }),
);
add("index", "wrong-shard", (dest) =>
  withIndex(dest, (idx) => {
    const m = wm(idx);
    const name = Object.keys(m)[0]!;
    m[name] =
      m[name] === "model-00001-of-00002.safetensors"
        ? "model-00002-of-00002.safetensors"
        : "model-00001-of-00002.safetensors";
  }),
);
add("index", "unlisted-tensor", (dest) =>
  withIndex(dest, (idx) => {
    delete wm(idx)["model.norm.weight"];
  }),
);
add("index", "listed-but-absent", (dest) =>
  withIndex(dest, (idx) => {
    wm(idx)["model.layers.0.self_attn.q_norm.weight"] = "model-00001-of-00002.safetensors";
  }),
);
add("index", "missing-shard", (dest) => {
  copyModel(shardedModel, dest);
  unlinkSync(join(dest, "model-00002-of-00002.safetensors"));
});
add("index", "shard-truncated", (dest) => {
  copyModel(shardedModel, dest);
  const f = join(dest, "model-00001-of-00002.safetensors");
  truncateSync(f, readFileSync(f).length - 2);
});
add("index", "duplicate-across-shards", (dest) => {
  copyModel(shardedModel, dest);
  const a = join(dest, "model-00001-of-00002.safetensors");
  const b = join(dest, "model-00002-of-00002.safetensors");
  const ha = readHeader(a);
  const hb = readHeader(b);
  const name = Object.keys(ha.header).find((n) => n !== "__metadata__")!;
  const entry = ha.header[name] as Entry;
  const [s, e] = entry.data_offsets as [number, number];
  hb.header[name] = { ...entry, data_offsets: [hb.data.length, hb.data.length + (e - s)] };
  writeRaw(b, Buffer.from(JSON.stringify(hb.header)), Buffer.concat([hb.data, ha.data.subarray(s, e)]));
});
add("index", "no-index-no-weights", (dest) => {
  copyModel(shardedModel, dest);
  unlinkSync(join(dest, INDEX));
});

/** Every malformed case, in a stable order. */
export const MALFORMED_CHECKPOINTS: readonly MalformedCase[] = cases;

/** Builds case `c` in a fresh folder under `root` and returns the folder. */
export function buildCase(c: MalformedCase, root: string): string {
  const dest = join(root, c.id);
  rmSync(dest, { recursive: true, force: true });
  c.build(dest);
  return dest;
}

/** Every `stride`-th case starting at `offset`: a bounded sample for CI that still spans every family. */
export function sampleCases(stride: number, offset = 0): MalformedCase[] {
  return cases.filter((_, i) => i % stride === offset % stride);
}
