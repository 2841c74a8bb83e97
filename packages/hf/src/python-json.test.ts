// config.json in Python's json form (transformers' save_pretrained, the oracle's write_config), against what
// /usr/bin/python3 wrote for the same values (fixtures from scripts/fixtures/python_json.py).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parsePythonJson, pythonFloatRepr, pythonJsonDumps } from "./python-json.js";

const dir = new URL("./fixtures/python-json/", import.meta.url).pathname;
const read = (f: string) => readFileSync(`${dir}${f}`, "utf8");

test("a config-like file comes out as Python's json.dumps(indent=2, sort_keys=True) writes it", () => {
  const text = read("source.json");
  assert.equal(pythonJsonDumps(JSON.parse(text), parsePythonJson(text)), read("source.python.json"));
});

test("edited values: changed numbers and new keys in their JavaScript kind, untouched ones in the source's", () => {
  const text = '{"rope_theta": 10000.0, "num_hidden_layers": 8, "eps": 1e-06, "layer_types": ["a", "b"]}';
  const v = { ...JSON.parse(text), num_hidden_layers: 6, layer_types: ["a"], added: 2.5, whole: 3 };
  assert.equal(
    pythonJsonDumps(v, parsePythonJson(text)),
    '{\n  "added": 2.5,\n  "eps": 1e-06,\n  "layer_types": [\n    "a"\n  ],\n  "num_hidden_layers": 6,\n  "rope_theta": 10000.0,\n  "whole": 3\n}\n',
  );
});

test("every float's repr equals Python's (1,000 values of every magnitude, subnormals included)", () => {
  const { bits_le, repr } = JSON.parse(read("floats.json")) as { bits_le: string[]; repr: string[] };
  assert.ok(bits_le.length > 900);
  bits_le.forEach((hex, k) => {
    const x = Buffer.from(hex, "hex").readDoubleLE(0);
    assert.equal(pythonFloatRepr(x), repr[k], hex);
  });
});
